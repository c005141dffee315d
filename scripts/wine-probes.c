/*
 * What Wine does where evident's Windows tests are skipped under Wine
 * (scripts/cross-check.sh): replacing a file that another handle has open.
 * On Windows 10 1607+ (NTFS) MoveFileExW refuses it (ERROR_ACCESS_DENIED)
 * and a rename with POSIX semantics (SetFileInformationByHandle,
 * FileRenameInfoEx, FILE_RENAME_FLAG_POSIX_SEMANTICS) does it; Rust's
 * std::fs::rename tries the second when the first is refused.
 *
 * Build and run: x86_64-w64-mingw32-gcc -O2 -o probes.exe wine-probes.c
 *                wine64 probes.exe    (in an empty directory)
 * Wine 8.0 prints err=5 for both replacing calls and err=87
 * (ERROR_INVALID_PARAMETER: the information class is not implemented) for
 * FileRenameInfoEx.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

int main(void) {
    HANDLE t = CreateFileW(L"target.txt", GENERIC_READ | GENERIC_WRITE, SHARE_ALL, NULL,
                           CREATE_ALWAYS, 0, NULL);
    HANDLE s = CreateFileW(L"src.txt", GENERIC_WRITE, SHARE_ALL, NULL, CREATE_ALWAYS, 0, NULL);
    CloseHandle(s);
    BOOL ok = MoveFileExW(L"src.txt", L"target.txt", MOVEFILE_REPLACE_EXISTING);
    printf("MoveFileExW over an open target: %d err=%lu\n", ok, ok ? 0 : GetLastError());

    HANDLE h = CreateFileW(L"src.txt", DELETE, SHARE_ALL, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    WCHAR full[MAX_PATH];
    DWORD n = GetFullPathNameW(L"target.txt", MAX_PATH, full, NULL);
    size_t size = sizeof(FILE_RENAME_INFO) + n * sizeof(WCHAR);
    FILE_RENAME_INFO *ri = calloc(1, size);
    ri->Flags = 0x1 /* REPLACE_IF_EXISTS */ | 0x2 /* POSIX_SEMANTICS */;
    ri->FileNameLength = n * sizeof(WCHAR);
    memcpy(ri->FileName, full, n * sizeof(WCHAR));
    ok = SetFileInformationByHandle(h, 22 /* FileRenameInfoEx */, ri, (DWORD)size);
    printf("FileRenameInfoEx (POSIX semantics) over an open target: %d err=%lu\n", ok,
           ok ? 0 : GetLastError());
    CloseHandle(h);
    CloseHandle(t);
    ok = MoveFileExW(L"src.txt", L"target.txt", MOVEFILE_REPLACE_EXISTING);
    printf("MoveFileExW once the target is closed: %d err=%lu\n", ok, ok ? 0 : GetLastError());
    free(ri);
    return 0;
}
