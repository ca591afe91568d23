// Result<T>: a value or an Error. Used at every module boundary instead of exceptions.
#pragma once

#include <tl/expected.hpp>

#include "common/error.h"

namespace okami::common {

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(make_error(code, std::move(message)));
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

inline Status ok() { return {}; }

}  // namespace okami::common
