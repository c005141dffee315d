/*
 * evident.hpp: C++17 RAII wrappers over the evident C ABI (evident.h).
 *
 * Hand-written, header-only, no logic: every library object is owned by a
 * std::unique_ptr whose deleter calls its one `_free` function, and a
 * failed call throws evident::error carrying the status, the one-line
 * message of evident_last_error() (read on the same thread, right after the
 * call), the OS error code and the file. Link with libevident as for C
 * (pkg-config: `evident`; CMake: `find_package(evident)`, target
 * `evident::evident`).
 *
 *   evident::open_options o;
 *   o.durability(EVIDENT_DURABILITY_GROUP_COMMIT);
 *   evident::log log = evident::log::open("audit.jsonl", o);
 *   evident_head h = log.append_json(R"({"event_type":"X","action":"y"})");
 *   log.close();
 *   evident::verify_result r = evident::verify("audit.jsonl");
 *   bool ok = r.valid();
 *   for (evident::query_iter it("audit.jsonl"); auto e = it.next();)
 *       std::printf("%llu %s\n", (unsigned long long)evident_entry_seq(e.get()),
 *                   evident_entry_action(e.get()));
 *
 * Thread safety is that of the C ABI: an evident::log may be shared by
 * threads; results, iterators and entries need exclusive access.
 */
#ifndef EVIDENT_HPP
#define EVIDENT_HPP

#include "evident.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace evident {

/// Deleter calling the C ABI's `_free` function for one object type.
template <auto Free>
struct deleter {
    template <typename T>
    void operator()(T *p) const noexcept {
        Free(p);
    }
};

/// Owning handles, one per object type of the C ABI.
using log_ptr = std::unique_ptr<evident_log, deleter<evident_log_free>>;
using open_options_ptr = std::unique_ptr<evident_open_options, deleter<evident_open_options_free>>;
using recovery_ptr = std::unique_ptr<evident_recovery, deleter<evident_recovery_free>>;
using verify_options_ptr =
    std::unique_ptr<evident_verify_options, deleter<evident_verify_options_free>>;
using verify_result_ptr =
    std::unique_ptr<evident_verify_result, deleter<evident_verify_result_free>>;
using query_ptr = std::unique_ptr<evident_query, deleter<evident_query_free>>;
using query_iter_ptr = std::unique_ptr<evident_query_iter, deleter<evident_query_iter_free>>;
using entry_ptr = std::unique_ptr<evident_entry, deleter<evident_entry_free>>;
using session_ptr = std::unique_ptr<evident_session, deleter<evident_session_free>>;
using trace_ptr = std::unique_ptr<evident_trace, deleter<evident_trace_free>>;
using save_options_ptr = std::unique_ptr<evident_save_options, deleter<evident_save_options_free>>;
/// A string the library allocated (e.g. JSON output).
using string_ptr = std::unique_ptr<char, deleter<evident_string_free>>;

/// A failed call: the status and the library's one-line message.
class error : public std::runtime_error {
public:
    error(evident_status status, const std::string &message, int os_errno, std::string path)
        : std::runtime_error(message), status_(status), errno_(os_errno), path_(std::move(path)) {}
    evident_status status() const noexcept { return status_; }
    /// The OS error code of an EVIDENT_STATUS_IO failure (0 if none).
    int os_errno() const noexcept { return errno_; }
    /// The file the failure concerns ("" if none).
    const std::string &path() const noexcept { return path_; }

private:
    evident_status status_;
    int errno_;
    std::string path_;
};

/// A C string the library returns as `std::string` ("" for NULL, which
/// several accessors return when there is no value).
inline std::string text_or_empty(const char *s) { return s ? std::string(s) : std::string(); }

/// Throws evident::error unless `st` is EVIDENT_STATUS_OK. Call it right
/// after the failed call, on the same thread (the message is per thread).
inline void check(evident_status st) {
    if (st == EVIDENT_STATUS_OK) return;
    const char *msg = evident_last_error();
    const char *path = evident_last_error_path();
    throw error(st, msg ? msg : evident_status_name(st), evident_last_errno(),
                path ? path : "");
}

/// Options of log::open (library defaults until set).
class open_options {
public:
    open_options() {
        evident_open_options *p = nullptr;
        check(evident_open_options_new(&p));
        ptr_.reset(p);
    }
    open_options &framing(evident_framing v) {
        check(evident_open_options_set_framing(ptr_.get(), static_cast<uint32_t>(v)));
        return *this;
    }
    open_options &key(const std::string &k) {
        check(evident_open_options_set_key(ptr_.get(), reinterpret_cast<const uint8_t *>(k.data()),
                                           k.size()));
        return *this;
    }
    open_options &durability(evident_durability v) {
        check(evident_open_options_set_durability(ptr_.get(), static_cast<uint32_t>(v)));
        return *this;
    }
    open_options &lock_mode(evident_lock_mode v) {
        check(evident_open_options_set_lock_mode(ptr_.get(), static_cast<uint32_t>(v)));
        return *this;
    }
    open_options &lock_timeout_ms(uint64_t ms) {
        check(evident_open_options_set_lock_timeout_ms(ptr_.get(), ms));
        return *this;
    }
    open_options &create(bool v) {
        check(evident_open_options_set_create(ptr_.get(), v));
        return *this;
    }
    open_options &create_new(bool v) {
        check(evident_open_options_set_create_new(ptr_.get(), v));
        return *this;
    }
    const evident_open_options *get() const noexcept { return ptr_.get(); }

private:
    open_options_ptr ptr_;
};

/// An open log. Moving is allowed; destruction frees the handle (closing it
/// first if needed; call close() to see the errors of that close).
class log {
public:
    static log open(const std::string &path, const open_options &options) {
        evident_log *p = nullptr;
        check(evident_log_open(path.c_str(), options.get(), &p));
        return log(log_ptr(p));
    }
    static log open(const std::string &path) {
        evident_log *p = nullptr;
        check(evident_log_open(path.c_str(), nullptr, &p));
        return log(log_ptr(p));
    }
    evident_head append(const evident_event &event) {
        evident_head h{};
        check(evident_log_append(ptr_.get(), &event, &h));
        return h;
    }
    evident_head append_json(const std::string &event_json) {
        evident_head h{};
        check(evident_log_append_json(ptr_.get(), event_json.c_str(), &h));
        return h;
    }
    void sync() { check(evident_log_sync(ptr_.get())); }
    void close() { check(evident_log_close(ptr_.get())); }
    evident_head head() const {
        evident_head h{};
        check(evident_log_head(ptr_.get(), &h));
        return h;
    }
    std::string log_id() const { return text_or_empty(evident_log_log_id(ptr_.get())); }
    evident_log *get() const noexcept { return ptr_.get(); }

private:
    explicit log(log_ptr p) : ptr_(std::move(p)) {}
    log_ptr ptr_;
};

/// The result of verify(); the accessors are those of the C ABI.
class verify_result {
public:
    explicit verify_result(verify_result_ptr p) : ptr_(std::move(p)) {}
    bool valid() const noexcept { return evident_verify_result_valid(ptr_.get()); }
    bool not_a_log() const noexcept { return evident_verify_result_not_a_log(ptr_.get()); }
    uint64_t entries() const noexcept { return evident_verify_result_entries(ptr_.get()); }
    uint64_t head_seq() const noexcept { return evident_verify_result_head_seq(ptr_.get()); }
    /// "" when the file has no complete record (the C call's NULL).
    std::string head_hash() const {
        return text_or_empty(evident_verify_result_head_hash(ptr_.get()));
    }
    std::string to_json() const {
        char *s = nullptr;
        check(evident_verify_result_to_json(ptr_.get(), &s));
        return string_ptr(s).get();
    }
    const evident_verify_result *get() const noexcept { return ptr_.get(); }

private:
    verify_result_ptr ptr_;
};

/// Verifies the log at `path` (options: NULL for the defaults).
inline verify_result verify(const std::string &path,
                            const evident_verify_options *options = nullptr) {
    evident_verify_result *p = nullptr;
    check(evident_verify(path.c_str(), options, &p));
    return verify_result(verify_result_ptr(p));
}

/// Iterates the entries of a log: next() returns the next entry, or an
/// empty pointer at the end; a damaged record throws (calling next() again
/// goes on with the next record where the framing allows).
class query_iter {
public:
    explicit query_iter(const std::string &path, const evident_query *query = nullptr) {
        evident_query_iter *p = nullptr;
        check(evident_query_run(path.c_str(), query, &p));
        ptr_.reset(p);
    }
    entry_ptr next() {
        evident_entry *e = nullptr;
        evident_status st = evident_query_next(ptr_.get(), &e);
        if (st == EVIDENT_STATUS_END) return entry_ptr();
        check(st);
        return entry_ptr(e);
    }

private:
    query_iter_ptr ptr_;
};

}  // namespace evident

#endif /* EVIDENT_HPP */
