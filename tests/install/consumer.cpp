// A C++17 program built against an INSTALLED evident, through evident.hpp
// (RAII wrappers; errors as evident::error). Usage: consumer_cpp DIR.
#include <evident.hpp>

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const std::string path = std::string(argv[1]) + "/cpp.jsonl";
    try {
        evident_head head{};
        {
            evident::open_options o;
            o.durability(EVIDENT_DURABILITY_SYNC).lock_timeout_ms(0);
            evident::log log = evident::log::open(path, o);
            for (int i = 0; i < 4; i++)
                head = log.append_json(R"({"event_type":"ACTION_EXECUTED","action":"cpp"})");
            // A second writer is refused while the first holds the lock.
            try {
                evident::log::open(path, o);
                std::fprintf(stderr, "second writer was not refused\n");
                return 1;
            } catch (const evident::error &e) {
                if (e.status() != EVIDENT_STATUS_LOCKED) throw;
            }
            // log is closed and freed here (RAII), without close().
        }
        evident::verify_result r = evident::verify(path);
        if (!r.valid() || r.entries() != 4 || r.head_hash() != head.hash) {
            std::fprintf(stderr, "verify: %s\n", r.to_json().c_str());
            return 1;
        }
        unsigned n = 0;
        evident::query_iter it(path);
        while (evident::entry_ptr e = it.next()) {
            if (std::string(evident_entry_action(e.get())) != "cpp") return 1;
            n++;
        }
        if (n != 4) return 1;
        try {
            evident::verify(path + ".missing");
            return 1;
        } catch (const evident::error &e) {
            if (e.status() != EVIDENT_STATUS_IO || e.path().empty()) throw;
        }
        {
            // A file that is not a log: no head (the C call's NULL), "" here.
            std::fclose(std::fopen((path + ".empty").c_str(), "w"));
            evident::verify_result none = evident::verify(path + ".empty");
            if (none.valid() || !none.not_a_log() || !none.head_hash().empty()) return 1;
        }
        std::printf("ok %u\n", n);
        return 0;
    } catch (const evident::error &e) {
        std::fprintf(stderr, "%s (%s)\n", e.what(), evident_status_name(e.status()));
        return 1;
    }
}
