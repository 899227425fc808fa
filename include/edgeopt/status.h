// edgeopt::Status and edgeopt::StatusOr<T>: the one error type of the library.
//
// No exceptions anywhere in the library: every fallible function returns a Status (or a
// StatusOr), and the CLI maps it to a message and an exit code.
#ifndef EDGEOPT_INCLUDE_EDGEOPT_STATUS_H_
#define EDGEOPT_INCLUDE_EDGEOPT_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace edgeopt {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  // bad user input (flags, data files, shapes)
  kUnsupported,      // valid input that edgeopt cannot handle (op, dtype, layer)
  kOutOfMemory,
  kInvalidModel,  // a model file that is malformed or inconsistent
  kNotFound,      // a file, tensor or layer that does not exist
  kIoError,       // reading or writing failed
  kCancelled,     // interrupted by the user
  kInternal,      // a bug in edgeopt
};

const char* StatusCodeName(StatusCode code);

// One pointer: null for OK (nothing to build, move or destroy on the success path, which every
// kernel call returns), else the code and message on the heap.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : rep_(code == StatusCode::kOk ? nullptr : new Rep{code, std::move(message)}) {}
  Status(const Status& other) : rep_(other.rep_ ? new Rep(*other.rep_) : nullptr) {}
  Status(Status&& other) noexcept : rep_(other.rep_) { other.rep_ = nullptr; }
  Status& operator=(const Status& other) {
    if (this != &other) *this = Status(other);
    return *this;
  }
  Status& operator=(Status&& other) noexcept {
    std::swap(rep_, other.rep_);
    return *this;
  }
  ~Status() { delete rep_; }

  static Status Ok() { return Status(); }
  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // "invalid model: ..." style text for users.
  std::string ToString() const;
  // Returns a copy whose message is "prefix: message" (adds context on the way up).
  Status WithPrefix(const std::string& prefix) const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  Rep* rep_ = nullptr;
};

// printf-style constructor: MakeStatus(StatusCode::kInvalidModel, "tensor %d: ...", i).
Status MakeStatus(StatusCode code, const char* format, ...) __attribute__((format(printf, 2, 3)));

template <typename T>
class StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace edgeopt

#define EDGEOPT_STATUS_CONCAT_INNER(a, b) a##b
#define EDGEOPT_STATUS_CONCAT(a, b) EDGEOPT_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define EDGEOPT_RETURN_IF_ERROR(expr)                          \
  do {                                                         \
    ::edgeopt::Status edgeopt_status_tmp_ = (expr);            \
    if (!edgeopt_status_tmp_.ok()) return edgeopt_status_tmp_; \
  } while (0)

// Returns MakeStatus(code, fmt, ...) if `cond` is false.
#define EDGEOPT_ENSURE(cond, code, ...)                             \
  do {                                                              \
    if (!(cond)) return ::edgeopt::MakeStatus((code), __VA_ARGS__); \
  } while (0)

// `lhs = value of expr`, or returns its Status. lhs may be a declaration.
#define EDGEOPT_ASSIGN_OR_RETURN(lhs, expr) \
  EDGEOPT_ASSIGN_OR_RETURN_IMPL(EDGEOPT_STATUS_CONCAT(edgeopt_sor_, __LINE__), lhs, expr)
#define EDGEOPT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // EDGEOPT_INCLUDE_EDGEOPT_STATUS_H_
