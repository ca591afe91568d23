#include "okami/names.h"
