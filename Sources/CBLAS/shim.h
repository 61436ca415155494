#include <cblas.h>
/* OpenBLAS extensions (declared in openblas_config.h/cblas.h on Debian; repeated here for clarity). */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
