/* Tesseract 5 C API and Leptonica (Debian libtesseract-dev, libleptonica-dev). */
#include <leptonica/allheaders.h>
#include <tesseract/capi.h>
