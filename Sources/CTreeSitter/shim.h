/* tree-sitter runtime (Debian libtree-sitter-dev, 0.20.7: grammar ABI 13–14). */
#include <tree_sitter/api.h>
