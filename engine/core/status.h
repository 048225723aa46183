// Status: the error type for everything a user can cause (bad config, missing
// file, corrupt record, unsupported shape).  Broken invariants use CHECK instead.
// Only bin/ turns a Status into an exit code.
#pragma once

#include <string>
#include <utility>

namespace banyan {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad config value, bad flag, bad shape
  kNotFound,         // missing file, unknown layer or blob name
  kIoError,          // read/write failure
  kDataLoss,         // corrupt record, bad checksum
  kUnimplemented,    // valid request the engine cannot honour
  kResourceExhausted,
  kCancelled,  // stopped by a signal or a peer
  kAborted,    // a collective torn down because a participant failed
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status success() { return Status(); }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
  static Status resource_exhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>" or "OK".
  std::string to_string() const;
  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status with_context(const std::string& prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

const char* status_code_name(StatusCode code);

}  // namespace banyan

#define BANYAN_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::banyan::Status banyan_status_ = (expr);        \
    if (!banyan_status_.ok()) return banyan_status_; \
  } while (0)
