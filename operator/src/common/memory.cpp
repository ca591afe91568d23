#include "common/memory.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace okami::common {

void return_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace okami::common
