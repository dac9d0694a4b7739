#include "CBenchBaseline.h"
int cbench_placeholder(void) { return 0; }
