// Logging: printf-style, routed to a user callback (default: stderr), minimum level fixed at
// compile time with EDGEOPT_LOG_LEVEL (0 debug, 1 info, 2 warning, 3 error, 4 none).
#ifndef EDGEOPT_SRC_CORE_LOGGING_H_
#define EDGEOPT_SRC_CORE_LOGGING_H_

namespace edgeopt {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
using LogCallback = void (*)(LogLevel level, const char* message, void* user_data);

// Replaces the sink; nullptr restores the default (stderr).
void SetLogCallback(LogCallback callback, void* user_data);
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace edgeopt

#ifndef EDGEOPT_LOG_LEVEL
#define EDGEOPT_LOG_LEVEL 1
#endif

#if defined(EDGEOPT_STRIP_ERROR_STRINGS)
#define EDGEOPT_LOG_AT(level, ...) ((void)0)
#else
#define EDGEOPT_LOG_AT(level, ...)                                                        \
  do {                                                                                    \
    if (static_cast<int>(level) >= EDGEOPT_LOG_LEVEL) ::edgeopt::Log(level, __VA_ARGS__); \
  } while (0)
#endif
#define EDGEOPT_LOG_DEBUG(...) EDGEOPT_LOG_AT(::edgeopt::LogLevel::kDebug, __VA_ARGS__)
#define EDGEOPT_LOG_INFO(...) EDGEOPT_LOG_AT(::edgeopt::LogLevel::kInfo, __VA_ARGS__)
#define EDGEOPT_LOG_WARNING(...) EDGEOPT_LOG_AT(::edgeopt::LogLevel::kWarning, __VA_ARGS__)
#define EDGEOPT_LOG_ERROR(...) EDGEOPT_LOG_AT(::edgeopt::LogLevel::kError, __VA_ARGS__)

// Programmer errors only (never user input or model content); compiled out in release.
#ifdef NDEBUG
#define EDGEOPT_DCHECK(cond) ((void)0)
#else
#include <cstdio>
#include <cstdlib>
#define EDGEOPT_DCHECK(cond)                                                         \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: DCHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
#endif

#endif  // EDGEOPT_SRC_CORE_LOGGING_H_
