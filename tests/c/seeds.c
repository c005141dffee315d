/*
 * The seed systems' engines from C: compliance checks of a dataset
 * (SecureML's ComplianceAuditor) and TraceKit's audit-log export.
 *
 * Usage: seeds WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void compliance(void) {
    const char *dataset =
        "{\"dataset_name\": \"customers\", \"columns\": ["
        "{\"name\": \"name\", \"values\": [\"Alice Smith\", \"Bob Johnson\"]},"
        "{\"name\": \"age\", \"values\": [32, 45]},"
        "{\"name\": \"contact\", \"values\": [\"a@example.com\", \"b@example.org\"]},"
        "{\"name\": \"diagnosis\", \"values\": [null, null]}]}";
    char *report = NULL;
    OK(evident_compliance_check("gdpr", dataset, &report));
    CHECK(report != NULL);
    CHECK(strstr(report, "\"regulation\":\"GDPR\"") != NULL);
    CHECK(strstr(report, "\"personal_data_columns\":{\"name\":\"name\",\"contact\":\"email\"}") != NULL);
    CHECK(strstr(report, "\"severity\":\"high\"") != NULL);
    CHECK(strstr(report, "\"compliant\":false") != NULL);
    CHECK(strstr(report, "\"num_records\":2") != NULL);
    evident_string_free(report);

    report = (char *)1;
    EXPECT(evident_compliance_check("gdpr", "{\"columns\": 1}", &report), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(report == NULL);
    CHECK(strstr(evident_last_error(), "dataset") != NULL);
    EXPECT(evident_compliance_check(NULL, dataset, &report), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_compliance_check("gdpr", dataset, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    compliance();
    char *scratch = join(argv[1], "scratch");
    free(scratch);
    printf("all checks passed\n");
    return 0;
}
