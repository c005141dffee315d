// The session C ABI from C++17 with RAII: build a session from std::vector
// samples, save it compressed, load it, read one trace from several threads
// at once (the first reads race to decompress it), after the session is
// gone.
//
// Usage: session WORKDIR   (an empty, writable directory)
// Prints "all checks passed" and exits 0, or names the failed check and
// exits 1.
#include "evident.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T *p) const noexcept {
        Free(p);
    }
};

using SessionPtr = std::unique_ptr<evident_session, Deleter<evident_session_free>>;
using TracePtr = std::unique_ptr<evident_trace, Deleter<evident_trace_free>>;
using SaveOptionsPtr = std::unique_ptr<evident_save_options, Deleter<evident_save_options_free>>;
using StringPtr = std::unique_ptr<char, Deleter<evident_string_free>>;

[[noreturn]] void fail(const char *file, int line, const char *what, const std::string &detail) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    if (!detail.empty()) {
        std::fprintf(stderr, "  %s\n", detail.c_str());
    }
    std::fprintf(stderr, "  last error: %s\n", evident_last_error());
    std::exit(1);
}

#define CHECK(cond)                                       \
    do {                                                  \
        if (!(cond)) fail(__FILE__, __LINE__, #cond, ""); \
    } while (0)

#define EXPECT(expr, want)                                                               \
    do {                                                                                 \
        uint32_t st_ = (expr);                                                           \
        if (st_ != static_cast<uint32_t>(want)) {                                        \
            fail(__FILE__, __LINE__, #expr,                                              \
                 std::string("returned ") + evident_status_name(st_) + ", expected " +   \
                     evident_status_name(static_cast<uint32_t>(want)));                  \
        }                                                                                \
    } while (0)

#define OK(expr) EXPECT(expr, EVIDENT_STATUS_OK)

// Runs a function returning a library string and takes ownership of it.
template <typename F>
std::string json(F f) {
    char *raw = nullptr;
    OK(f(&raw));
    StringPtr owned(raw);
    CHECK(raw != nullptr);
    return std::string(raw);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    const std::string path = (std::filesystem::path(argv[1]) / "cpp.evs").string();

    std::vector<float> ch1(50000);
    for (size_t i = 0; i < ch1.size(); i++) {
        ch1[i] = static_cast<float>(i % 100) * 0.5f;
    }
    std::vector<uint16_t> ch2{1, 2, 3, 65535};

    {
        evident_session *raw = nullptr;
        OK(evident_session_new("C++ session", &raw));
        SessionPtr s(raw);
        OK(evident_session_add_trace(s.get(), "CH1", EVIDENT_DTYPE_F32, ch1.data(), ch1.size(),
                                     R"({"sample_rate":2e6,"units":"V"})"));
        OK(evident_session_add_trace(s.get(), "CH2", EVIDENT_DTYPE_U16, ch2.data(), ch2.size(),
                                     nullptr));
        OK(evident_session_annotate(s.get(), "default", R"({"text":"edge","time":0.001})"));
        EXPECT(evident_session_annotate(s.get(), "default", R"({"txt":"edge"})"),
               EVIDENT_STATUS_INVALID_ARGUMENT);

        evident_save_options *o = nullptr;
        OK(evident_save_options_new(&o));
        SaveOptionsPtr opts(o);
        OK(evident_save_options_set_compress(opts.get(), 1));
        std::string info = json([&](char **out) {
            return evident_session_save(s.get(), path.c_str(), opts.get(), out);
        });
        CHECK(info.find("\"version\":1") != std::string::npos);
    }

    TracePtr trace;
    {
        evident_session *raw = nullptr;
        OK(evident_session_load(path.c_str(), nullptr, 0, 0, &raw));
        SessionPtr s(raw);
        std::string names = json([&](char **out) {
            return evident_session_trace_names_json(s.get(), out);
        });
        CHECK(names == R"(["CH1","CH2"])");
        evident_trace *t = nullptr;
        OK(evident_session_get_trace(s.get(), "CH1", &t));
        trace.reset(t);
        evident_trace *missing = nullptr;
        EXPECT(evident_session_get_trace(s.get(), "CH9", &missing), EVIDENT_STATUS_NOT_FOUND);
        CHECK(missing == nullptr);
    }  // the session is freed; the trace keeps its samples

    std::string tinfo = json([&](char **out) { return evident_trace_info_json(trace.get(), out); });
    CHECK(tinfo.find("\"compressed\":true") != std::string::npos);

    // Several threads read the samples at once; all see the same memory.
    std::vector<const void *> seen(4, nullptr);
    std::vector<int> good(4, 0);
    std::vector<std::thread> threads;
    for (size_t k = 0; k < seen.size(); k++) {
        threads.emplace_back([&, k] {
            const void *data = nullptr;
            uint64_t n = 0, nb = 0;
            uint32_t dt = 0;
            if (evident_trace_data(trace.get(), &data, &n, &nb, &dt) != EVIDENT_STATUS_OK) return;
            seen[k] = data;
            good[k] = n == ch1.size() && nb == ch1.size() * sizeof(float) &&
                      dt == EVIDENT_DTYPE_F32 &&
                      std::memcmp(data, ch1.data(), ch1.size() * sizeof(float)) == 0;
        });
    }
    for (auto &t : threads) t.join();
    for (size_t k = 0; k < seen.size(); k++) {
        CHECK(good[k]);
        CHECK(seen[k] == seen[0]);
    }
    OK(evident_trace_verify(trace.get()));

    std::string report = json([&](char **out) {
        return evident_session_verify(path.c_str(), nullptr, 0, out);
    });
    CHECK(report.find("\"ok\":true") != std::string::npos);

    std::printf("all checks passed\n");
    return 0;
}
