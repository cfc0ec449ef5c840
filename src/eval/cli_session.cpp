// CliSession: prompt-driven command execution over a byte stream (telnet or SSH), after netmiko's
// send_command (read until the echoed command, then until the prompt) and scrapli's channel (prompt regex
// against the tail of the buffer).
#include "core/error.hpp"
#include "core/log.hpp"
#include "eval/session.hpp"

namespace np::eval {

namespace {

// The body of append_terminal_text on one contiguous input (`pending` is empty on entry).
void append_clean(std::string& text, std::string& pending, std::string_view in) {
    std::size_t i = 0;
    const std::size_t n = in.size();
    while (i < n) {
        char c = in[i];
        if (c == '\x1b') {
            if (i + 1 >= n) {
                pending = in.substr(i);
                return;
            }
            char k = in[i + 1];
            if (k == '[') {  // CSI: parameters, intermediates, one final byte 0x40-0x7e
                std::size_t j = i + 2;
                while (j < n &&
                       (static_cast<unsigned char>(in[j]) < 0x40 || static_cast<unsigned char>(in[j]) > 0x7e))
                    ++j;
                if (j >= n) {
                    pending = in.substr(i);
                    return;
                }
                i = j + 1;
            } else if (k == ']') {  // OSC: until BEL or ESC backslash
                std::size_t j = i + 2;
                while (j < n && in[j] != '\x07' && !(in[j] == '\x1b' && j + 1 < n && in[j + 1] == '\\')) ++j;
                if (j >= n) {
                    pending = in.substr(i);
                    return;
                }
                i = j + (in[j] == '\x07' ? 1 : 2);
            } else if (k == '(' || k == ')') {  // charset selection: ESC ( B
                if (i + 2 >= n) {
                    pending = in.substr(i);
                    return;
                }
                i += 3;
            } else {
                i += 2;  // ESC = , ESC > , ESC 7 ...
            }
            continue;
        }
        if (c == '\r') {
            if (i + 1 >= n) {  // a CR at the end of a chunk may be half of CRLF
                pending = "\r";
                return;
            }
            if (in[i + 1] == '\n' || in[i + 1] == '\r') {
                ++i;  // CRLF and CRCRLF become the LF that follows
                continue;
            }
            text.push_back('\n');
            ++i;
            continue;
        }
        if (c == '\b') {
            if (!text.empty() && text.back() != '\n') text.pop_back();
            ++i;
            continue;
        }
        if (c == '\0' || c == '\x07') {
            ++i;
            continue;
        }
        // Plain text up to the next control byte in one append.
        std::size_t j = i + 1;
        while (j < n && in[j] != '\x1b' && in[j] != '\r' && in[j] != '\b' && in[j] != '\0' && in[j] != '\x07')
            ++j;
        text.append(in.substr(i, j - i));
        i = j;
    }
}

}  // namespace

void append_terminal_text(std::string& text, std::string& pending, std::string_view chunk) {
    if (pending.empty()) return append_clean(text, pending, chunk);  // the usual case: no copy
    std::string in = std::move(pending);
    in.append(chunk);
    pending.clear();
    append_clean(text, pending, in);
}

namespace {

std::string_view last_line(const std::string& text) {
    auto nl = text.rfind('\n');
    return nl == std::string::npos ? std::string_view(text) : std::string_view(text).substr(nl + 1);
}

bool search(std::string_view s, const Regex& re) {
    return re.search(s);
}

std::string trim_copy(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

class CliSession final : public Session {
 public:
    CliSession(std::unique_ptr<ByteStream> stream, const DeviceTarget& target, const Platform& platform)
        : stream_(std::move(stream)),
          target_(target),
          p_(platform),
          // netmiko: `\r\n` on telnet consoles; on an SSH pty a CR and a LF would be two RETURNs.
          return_(target.transport == "ssh" ? platform.return_seq : platform.telnet_return) {}

    boost::asio::awaitable<void> open(Deadline deadline) override {
        co_await stream_->connect(deadline);
        connected_ = true;
        if (p_.wake == Platform::Wake::connect) {
            // A console that says nothing until it gets a RETURN (the platform's `wake: connect`): press it
            // at once rather than wait in silence. The prompt it answers with is the base prompt; a console
            // that was already talking prints one more, which `run` discards before the first echo. Another
            // RETURN only after a long silence (each costs one more reply on a console that is merely slow).
            co_await send(return_);
            co_await wait_prompt(deadline, true, std::chrono::seconds(2));
        } else {
            // Wake the console only if it stays silent: VPCS shows nothing on a second connection until it
            // gets input, but on a first one a RETURN sent during the banner makes it drop the next command
            // line.
            co_await wait_prompt(deadline, true, p_.wake_after);
            // One more RETURN and its prompt (netmiko's set_base_prompt does the same): input that the device
            // merged with our telnet negotiation replies or dropped while busy with its banner (VPCS handles
            // only the first line of a read) cannot then swallow the first real command.
            text_.clear();
            co_await send(return_);
            // A slow console answers this RETURN late; nudge again only after a long silence.
            co_await wait_prompt(deadline, true, std::chrono::seconds(3));
        }
        if (in_config()) co_await leave_config(deadline);
        if (p_.has_user_prompt() && !p_.enable.empty() && search(prompt_, p_.user_prompt_re)) {
            text_.clear();
            co_await send(p_.enable + return_);
            co_await wait_prompt(deadline, true);
        }
        for (const auto& cmd : p_.pager_off) co_await run(cmd, deadline);
    }

    boost::asio::awaitable<std::string> run(const std::string& command, Deadline deadline) override {
        if (broken_) throw core::unavailable(target_.name + ": session is broken; reopen it");
        text_.clear();
        co_await send(command + return_);
        std::string echo = trim_copy(command);
        std::size_t output_start = std::string::npos;
        while (true) {
            if (output_start == std::string::npos) {
                // Everything before the echo (a stray prompt from an earlier RETURN) is discarded.
                auto pos = echo.empty() ? 0 : text_.find(echo);
                if (pos != std::string::npos) {
                    auto nl = text_.find('\n', pos);
                    if (nl != std::string::npos) output_start = nl + 1;
                }
            }
            if (output_start != std::string::npos && output_start <= text_.size()) {
                std::string_view tail = last_line(text_);
                auto tail_start = text_.size() - tail.size();
                if (tail_start >= output_start && search(tail, p_.prompt_re)) {
                    prompt_ = trim_copy(tail);
                    std::string out = text_.substr(output_start, tail_start - output_start);
                    if (in_config()) co_await leave_config(deadline);
                    co_return out;
                }
            }
            if (co_await answer_pager()) continue;
            if (!co_await read(deadline)) {
                broken_ = true;
                throw core::timeout(
                    target_.name + ": no prompt after '" + command + "' before the deadline" +
                    (text_.empty() ? " (no output)" : " (last line: '" + trim_copy(last_line(text_)) + "')"));
            }
        }
    }

    boost::asio::awaitable<void> close() override {
        if (connected_ && !broken_ && in_config()) {
            try {
                co_await leave_config(std::chrono::steady_clock::now() + std::chrono::seconds(5));
            } catch (const std::exception& e) {
                log::warn("eval.session.close", {{"device", target_.name}, {"error", e.what()}});
            }
        }
        // Never `quit`/`exit`: on VPCS that kills the virtual PC. Just hang up.
        stream_->close();
        connected_ = false;
    }

    bool broken() const override { return broken_; }

 private:
    bool in_config() const { return p_.has_config_prompt() && search(prompt_, p_.config_prompt_re); }

    boost::asio::awaitable<void> leave_config(Deadline deadline) {
        for (int i = 0; i < 3 && in_config(); ++i) {
            text_.clear();
            co_await send(p_.exit_config + return_);
            co_await wait_prompt(deadline, false);
        }
        if (in_config()) throw core::upstream(target_.name + ": cannot leave configuration mode");
    }

    boost::asio::awaitable<void> send(std::string data) { co_await stream_->write(std::move(data)); }

    boost::asio::awaitable<bool> read(Deadline deadline) {
        chunk_.clear();  // one buffer per session, reused by every read
        bool got = co_await stream_->read_some(chunk_, deadline);
        if (got) append_terminal_text(text_, pending_, chunk_);
        co_return got;
    }

    boost::asio::awaitable<bool> answer_pager() {
        if (p_.pager.empty()) co_return false;
        std::string_view tail = last_line(text_);
        if (tail.empty() || !search(tail, p_.pager_re)) co_return false;
        text_.resize(text_.size() - tail.size());  // drop the marker; the device erases it with backspaces
        co_await send(" ");
        co_return true;
    }

    // Reads until the last line is a prompt, answering dialogs (and RETURN on silence when `wake`).
    boost::asio::awaitable<void> wait_prompt(
        Deadline deadline, bool wake,
        std::chrono::milliseconds first_quiet = std::chrono::milliseconds(500)) {
        int nudges = 0;
        while (true) {
            std::string_view tail = last_line(text_);
            if (!tail.empty() && search(tail, p_.prompt_re)) {
                prompt_ = trim_copy(tail);
                co_return;
            }
            if (co_await answer_pager()) continue;
            // Dialogs may end with a newline ("Press RETURN to get started.\n"): look at the last non-empty
            // line.
            std::string_view trimmed = text_;
            while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' '))
                trimmed.remove_suffix(1);
            auto nl = trimmed.rfind('\n');
            std::string_view dialog_line = nl == std::string_view::npos ? trimmed : trimmed.substr(nl + 1);
            bool answered = false;
            for (const auto& d : p_.dialogs) {
                if (dialog_line.empty() || !search(dialog_line, d.re)) continue;
                std::string reply = d.send;
                auto subst = [&](const std::string& key, const std::string& value) {
                    for (auto pos = reply.find(key); pos != std::string::npos; pos = reply.find(key))
                        reply.replace(pos, key.size(), value);
                };
                subst("{username}", target_.username);
                subst("{password}", target_.password);
                subst("{return}", return_);
                text_.clear();
                co_await send(reply);
                answered = true;
                break;
            }
            if (answered) continue;
            auto quiet = nudges == 0 ? first_quiet : std::max(first_quiet, std::chrono::milliseconds(2000));
            auto step = wake ? std::min(deadline, std::chrono::steady_clock::now() + quiet) : deadline;
            if (!co_await read(step)) {
                if (std::chrono::steady_clock::now() >= deadline) {
                    broken_ = true;
                    throw core::timeout(target_.name + ": no " + p_.name + " prompt before the deadline" +
                                        (text_.empty()
                                             ? " (the console sent nothing)"
                                             : " (last line: '" + trim_copy(last_line(text_)) + "')"));
                }
                if (wake && ++nudges <= 5) co_await send(return_);
            }
        }
    }

    std::unique_ptr<ByteStream> stream_;
    DeviceTarget target_;
    const Platform& p_;
    std::string return_;
    std::string text_, pending_, prompt_, chunk_;
    bool broken_ = false, connected_ = false;
};

}  // namespace

std::unique_ptr<Session> make_cli_session(std::unique_ptr<ByteStream> stream, const DeviceTarget& target,
                                          const Platform& platform) {
    return std::make_unique<CliSession>(std::move(stream), target, platform);
}

}  // namespace np::eval
