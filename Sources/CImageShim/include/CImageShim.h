#ifndef GRAFT_IMAGE_SHIM_H
#define GRAFT_IMAGE_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* libjpeg and libpng report fatal errors by longjmp, which Swift cannot catch.
 * These two entry points keep every longjmp inside C and return a status plus
 * the library's message. Both are safe on arbitrary bytes and free everything
 * they allocate on every path. */

typedef enum {
    GRAFT_IMAGE_OK = 0,
    GRAFT_IMAGE_CORRUPT = 1,   /* the library rejected the data; info->message says why */
    GRAFT_IMAGE_TRUNCATED = 2, /* the data ended before the image did */
} GraftImageStatus;

typedef struct {
    uint32_t width, height;   /* size of the decoded buffer (JPEG: after DCT scaling) */
    int32_t components;       /* in the file: JPEG components; PNG channels incl. alpha (palette: 1) */
    int32_t color_space;      /* in the file: JPEG J_COLOR_SPACE; PNG IHDR color type */
    int32_t bit_depth;        /* in the file: bits per sample */
    int32_t interlaced;       /* JPEG progressive, PNG Adam7 */
    int32_t channels;         /* samples per pixel in the decoded buffer */
    int32_t bytes_per_sample; /* in the decoded buffer: 1, or 2 (native endian) */
    char message[200];
} GraftImageInfo;

/* Reads a JPEG (ISLOW IDCT, fancy upsampling, output scaled by 1/scale_denom,
 * scale_denom 1, 2, 4 or 8). With out NULL only the header is read. Otherwise
 * decodes into out (HWC, row-major, 8-bit): grayscale as 1 channel, CMYK and
 * YCCK as 4 channels of CMYK exactly as stored (Adobe files store it inverted),
 * every other 3-component file as RGB. Running out of data, even before EOI
 * only, is GRAFT_IMAGE_TRUNCATED; libjpeg's other warnings are ignored. */
GraftImageStatus graft_jpeg_read(const void *data, size_t size, int scale_denom,
                    void *out, size_t capacity, GraftImageInfo *info);

/* Reads a PNG. With out NULL only the header is read. Otherwise decodes into out
 * (HWC, row-major): palette expanded to RGB, gray below 8 bits expanded to 8,
 * alpha and tRNS dropped, so 1 (gray) or 3 (RGB) channels; 16-bit samples keep
 * 16 bits in native byte order when keep_16 is nonzero, else keep the high byte. */
GraftImageStatus graft_png_read(const void *data, size_t size, int keep_16,
                   void *out, size_t capacity, GraftImageInfo *info);

#endif
