// The C ABI from C++17 with RAII: every library object is owned by a
// std::unique_ptr with a deleter calling its one _free function.
//
// Usage: basic WORKDIR   (an empty, writable directory)
// Prints "all checks passed" and exits 0, or names the failed check and
// exits 1.
#include "evident.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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

using OptionsPtr = std::unique_ptr<evident_open_options, Deleter<evident_open_options_free>>;
using LogPtr = std::unique_ptr<evident_log, Deleter<evident_log_free>>;
using RecoveryPtr = std::unique_ptr<evident_recovery, Deleter<evident_recovery_free>>;
using VerifyOptionsPtr =
    std::unique_ptr<evident_verify_options, Deleter<evident_verify_options_free>>;
using ResultPtr = std::unique_ptr<evident_verify_result, Deleter<evident_verify_result_free>>;
using QueryPtr = std::unique_ptr<evident_query, Deleter<evident_query_free>>;
using IterPtr = std::unique_ptr<evident_query_iter, Deleter<evident_query_iter_free>>;
using EntryPtr = std::unique_ptr<evident_entry, Deleter<evident_entry_free>>;
using StringPtr = std::unique_ptr<char, Deleter<evident_string_free>>;

[[noreturn]] void fail(const char *file, int line, const char *what, const std::string &detail) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    if (!detail.empty()) {
        std::fprintf(stderr, "  %s\n", detail.c_str());
    }
    std::fprintf(stderr, "  last error: %s\n", evident_last_error());
    std::exit(1);
}

#define CHECK(cond)                                  \
    do {                                             \
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

std::string str(const char *s) { return s ? std::string(s) : std::string("(null)"); }

LogPtr open_log(const std::string &path, const evident_open_options *opts) {
    evident_log *raw = nullptr;
    OK(evident_log_open(path.c_str(), opts, &raw));
    return LogPtr(raw);
}

ResultPtr verify(const std::string &path, const evident_verify_options *opts) {
    evident_verify_result *raw = nullptr;
    OK(evident_verify(path.c_str(), opts, &raw));
    return ResultPtr(raw);
}

std::vector<EntryPtr> run_query(const std::string &path, const evident_query *q) {
    evident_query_iter *raw = nullptr;
    OK(evident_query_run(path.c_str(), q, &raw));
    IterPtr it(raw);
    std::vector<EntryPtr> out;
    for (;;) {
        evident_entry *e = nullptr;
        uint32_t st = evident_query_next(it.get(), &e);
        if (st == EVIDENT_STATUS_END) break;
        OK(st);
        out.emplace_back(e);
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    namespace fs = std::filesystem;
    const fs::path dir(argv[1]);
    const std::string path = (dir / "cpp.jsonl").string();
    const std::string copy = (dir / "cpp-tampered.jsonl").string();
    const std::string binpath = (dir / "cpp.evl").string();

    const uint32_t v = evident_abi_version();
    CHECK((v >> 16) == EVIDENT_ABI_VERSION_MAJOR && v >= EVIDENT_ABI_VERSION);

    // ---- create, append from fields and from JSON, concurrently ----
    evident_head head4{};
    {
        evident_open_options *raw = nullptr;
        OK(evident_open_options_new(&raw));
        OptionsPtr opts(raw);
        OK(evident_open_options_set_durability(opts.get(), EVIDENT_DURABILITY_GROUP_COMMIT));
        OK(evident_open_options_set_actor(opts.get(), "cpp-test"));
        LogPtr log = open_log(path, opts.get());

        evident_event ev{};
        ev.event_type = "ACTION_EXECUTED";
        ev.action = "acquire";
        ev.session_id = "run-1";
        ev.source = "daq";
        ev.details_json = R"({"rate_hz":1000})";
        evident_head head{};
        OK(evident_log_append(log.get(), &ev, &head));
        CHECK(head.seq == 1);

        ev.action = "calibrate";
        ev.session_id = "run-2";
        OK(evident_log_append(log.get(), &ev, &head));
        CHECK(head.seq == 2);

        OK(evident_log_append_json(
            log.get(),
            R"({"event_type":"ACTION_EXECUTED","action":"export","session_id":"run-1","source":"daq"})",
            &head));
        CHECK(head.seq == 3);
        OK(evident_log_append_json(
            log.get(),
            R"({"event_type":"SESSION","action":"end","session_id":"run-1","otr":true,"duration_ms":2.25})",
            &head4));
        CHECK(head4.seq == 4);

        // One log shared by several threads (documented thread-safe for append).
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 3; t++) {
            threads.emplace_back([&log, &failures, t] {
                std::string action = "worker-" + std::to_string(t);
                for (int i = 0; i < 4; i++) {
                    evident_event e{};
                    e.event_type = "WORKER";
                    e.action = action.c_str();
                    e.session_id = "threads";
                    if (evident_log_append(log.get(), &e, nullptr) != EVIDENT_STATUS_OK) failures++;
                }
            });
        }
        for (auto &th : threads) th.join();
        CHECK(failures == 0);
        OK(evident_log_head(log.get(), &head));
        CHECK(head.seq == 16);

        // A second exclusive writer is refused, naming the holder.
        evident_log *second = nullptr;
        EXPECT(evident_log_open(path.c_str(), nullptr, &second), EVIDENT_STATUS_LOCKED);
        CHECK(second == nullptr);
        CHECK(std::strstr(evident_last_error(), "locked by") != nullptr);

        // NULL and invalid UTF-8 arguments.
        EXPECT(evident_log_append(log.get(), nullptr, nullptr), EVIDENT_STATUS_NULL_ARGUMENT);
        EXPECT(evident_log_append_json(nullptr, "{}", nullptr), EVIDENT_STATUS_NULL_ARGUMENT);
        evident_event bad{};
        bad.session_id = "s\xc0";
        EXPECT(evident_log_append(log.get(), &bad, nullptr), EVIDENT_STATUS_INVALID_UTF8);
        CHECK(std::strstr(evident_last_error(), "session_id") != nullptr);
        EXPECT(evident_log_append_json(log.get(), R"({"action":"x","extra":1})", nullptr),
               EVIDENT_STATUS_INVALID_ARGUMENT);

        OK(evident_log_close(log.get()));
        EXPECT(evident_log_append(log.get(), &ev, nullptr), EVIDENT_STATUS_CLOSED);
    }  // log and options freed here

    // ---- reopen: head continues, nothing recovered ----
    std::string head16;
    {
        LogPtr log = open_log(path, nullptr);
        evident_head head{};
        OK(evident_log_head(log.get(), &head));
        CHECK(head.seq == 16);
        head16 = head.hash;
        evident_recovery *raw = nullptr;
        OK(evident_log_recovery(log.get(), &raw));
        RecoveryPtr rec(raw);
        CHECK(!evident_recovery_created(rec.get()));
        CHECK(evident_recovery_torn_count(rec.get()) == 0);
    }

    // ---- verify ----
    {
        evident_verify_options *raw = nullptr;
        OK(evident_verify_options_new(&raw));
        VerifyOptionsPtr vopts(raw);
        OK(evident_verify_options_set_expected_head(vopts.get(), head4.seq, head4.hash));
        OK(evident_verify_options_set_threads(vopts.get(), 1));
        ResultPtr res = verify(path, vopts.get());
        CHECK(evident_verify_result_valid(res.get()));
        CHECK(evident_verify_result_entries(res.get()) == 16);
        CHECK(str(evident_verify_result_head_hash(res.get())) == head16);

        // Tamper with one byte of a copy.
        fs::copy_file(path, copy);
        std::string bytes;
        {
            std::ifstream in(copy, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        auto at = bytes.find("\"calibrate\"");
        CHECK(at != std::string::npos);
        bytes[at + 1] = 'k';  // "kalibrate"
        {
            std::ofstream out(copy, std::ios::binary | std::ios::trunc);
            out << bytes;
        }
        OK(evident_verify_options_set_expected_head(vopts.get(), 0, nullptr));
        ResultPtr bad = verify(copy, vopts.get());
        CHECK(!evident_verify_result_valid(bad.get()));
        CHECK(evident_verify_result_violation_count(bad.get()) == 1);
        const evident_violation *viol = nullptr;
        OK(evident_verify_result_violation(bad.get(), 0, &viol));
        CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_HASH_MISMATCH);
        CHECK(evident_violation_has_seq(viol) && evident_violation_seq(viol) == 2);
        CHECK(evident_violation_line(viol) == 3);
        CHECK(std::strlen(evident_violation_message(viol)) > 0);
        char *json_raw = nullptr;
        OK(evident_verify_result_to_json(bad.get(), &json_raw));
        StringPtr json(json_raw);
        CHECK(std::strstr(json.get(), "\"seq\":2") != nullptr);
    }

    // ---- query ----
    {
        evident_query *raw = nullptr;
        OK(evident_query_new(&raw));
        QueryPtr q(raw);
        OK(evident_query_set_session_id(q.get(), "run-1"));
        OK(evident_query_set_order(q.get(), EVIDENT_ORDER_NEWEST_FIRST));
        OK(evident_query_set_limit(q.get(), 2));
        auto entries = run_query(path, q.get());
        CHECK(entries.size() == 2);
        CHECK(evident_entry_seq(entries[0].get()) == 4);
        CHECK(evident_entry_seq(entries[1].get()) == 3);
        CHECK(evident_entry_otr(entries[0].get()));
        CHECK(evident_entry_has_duration_ms(entries[0].get()));
        CHECK(evident_entry_duration_ms(entries[0].get()) == 2.25);
        CHECK(!evident_entry_has_success(entries[0].get()));
        CHECK(str(evident_entry_actor(entries[0].get())) == "cpp-test");
        CHECK(str(evident_entry_details_json(entries[0].get())) == "{}");
        CHECK(str(evident_entry_action(entries[1].get())) == "export");
        // The chain links: entry 4's prev is entry 3's hash.
        CHECK(str(evident_entry_prev(entries[0].get())) == str(evident_entry_hash(entries[1].get())));

        // Oldest first, all worker entries.
        QueryPtr w;
        OK(evident_query_new(&raw));
        w.reset(raw);
        OK(evident_query_set_event_type(w.get(), "WORKER"));
        auto workers = run_query(path, w.get());
        CHECK(workers.size() == 12);
        for (size_t i = 0; i < workers.size(); i++) {
            CHECK(evident_entry_seq(workers[i].get()) == 5 + i);
        }
        // No query at all: every entry.
        CHECK(run_query(path, nullptr).size() == 16);
    }

    // ---- binary framing and HMAC-SHA512 ----
    {
        evident_open_options *raw = nullptr;
        OK(evident_open_options_new(&raw));
        OptionsPtr opts(raw);
        std::vector<uint8_t> key(48);
        for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(255 - i);
        OK(evident_open_options_set_key(opts.get(), key.data(), key.size()));
        OK(evident_open_options_set_alg(opts.get(), EVIDENT_ALG_HMAC_SHA512));
        LogPtr log = open_log(binpath, opts.get());
        CHECK(evident_log_framing(log.get()) == EVIDENT_FRAMING_BINARY);
        CHECK(evident_log_alg(log.get()) == EVIDENT_ALG_HMAC_SHA512);
        evident_head head{};
        OK(evident_log_append_json(log.get(), R"({"event_type":"E","action":"a"})", &head));
        CHECK(head.seq == 1);
        CHECK(std::strlen(head.hash) == 128);
        OK(evident_log_close(log.get()));
        log.reset();

        evident_verify_options *vraw = nullptr;
        OK(evident_verify_options_new(&vraw));
        VerifyOptionsPtr vopts(vraw);
        ResultPtr nokey = verify(binpath, vopts.get());
        CHECK(!evident_verify_result_valid(nokey.get()));
        OK(evident_verify_options_set_key(vopts.get(), key.data(), key.size()));
        ResultPtr res = verify(binpath, vopts.get());
        CHECK(evident_verify_result_valid(res.get()));
        CHECK(evident_verify_result_framing(res.get()) == EVIDENT_FRAMING_BINARY);
        CHECK(str(evident_verify_result_head_hash(res.get())) == head.hash);

        key[0] ^= 1;
        OK(evident_open_options_set_key(opts.get(), key.data(), key.size()));
        evident_log *wrong = nullptr;
        EXPECT(evident_log_open(binpath.c_str(), opts.get(), &wrong), EVIDENT_STATUS_WRONG_KEY);
        CHECK(wrong == nullptr);
    }

    std::printf("basic.cpp: all checks passed\n");
    return 0;
}
