#include "CImageShim.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

static void set_message(GraftImageInfo *info, const char *message) {
    snprintf(info->message, sizeof info->message, "%s", message);
}

/* ---- JPEG ---- */

struct jpeg_context {
    struct jpeg_error_mgr manager; /* first, so the error_mgr pointer is the context */
    jmp_buf jump;
    volatile int status;
    GraftImageInfo *info;
};

static void jpeg_fail(j_common_ptr cinfo) {
    struct jpeg_context *context = (struct jpeg_context *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    set_message(context->info, message);
    longjmp(context->jump, 1);
}

static void jpeg_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        ((struct jpeg_context *)cinfo->err)->status = GRAFT_IMAGE_TRUNCATED;
        jpeg_fail(cinfo);
    }
}

GraftImageStatus graft_jpeg_read(const void *data, size_t size, int scale_denom,
                    void *out, size_t capacity, GraftImageInfo *info) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_context context;
    memset(info, 0, sizeof *info);
    cinfo.err = jpeg_std_error(&context.manager);
    context.manager.error_exit = jpeg_fail;
    context.manager.emit_message = jpeg_message;
    context.status = GRAFT_IMAGE_CORRUPT;
    context.info = info;
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return (GraftImageStatus)context.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    info->components = cinfo.num_components;
    info->color_space = cinfo.jpeg_color_space;
    info->bit_depth = cinfo.data_precision;
    info->interlaced = cinfo.progressive_mode;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr: case JCS_RGB: cinfo.out_color_space = JCS_RGB; break;
    case JCS_CMYK: case JCS_YCCK: cinfo.out_color_space = JCS_CMYK; break;
    default: break; /* unknown layouts come out as stored; the caller rejects them */
    }
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)scale_denom;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_calc_output_dimensions(&cinfo);
    info->width = cinfo.output_width;
    info->height = cinfo.output_height;
    info->channels = cinfo.output_components;
    info->bytes_per_sample = 1;
    if (out == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return GRAFT_IMAGE_OK;
    }
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (capacity / stride < cinfo.output_height) {
        set_message(info, "output buffer too small");
        longjmp(context.jump, 1);
    }
    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = (JSAMPROW)out + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return GRAFT_IMAGE_OK;
}

/* ---- PNG ---- */

struct png_context {
    const unsigned char *data;
    size_t size, position;
    volatile int status;
    GraftImageInfo *info;
};

static void png_fail(png_structp png, png_const_charp message) {
    set_message(((struct png_context *)png_get_error_ptr(png))->info, message);
    png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void png_read_memory(png_structp png, png_bytep destination, size_t length) {
    struct png_context *context = png_get_io_ptr(png);
    if (length > context->size - context->position) {
        context->status = GRAFT_IMAGE_TRUNCATED;
        png_error(png, "unexpected end of data");
    }
    memcpy(destination, context->data + context->position, length);
    context->position += length;
}

GraftImageStatus graft_png_read(const void *data, size_t size, int keep_16,
                   void *out, size_t capacity, GraftImageInfo *info) {
    struct png_context context = {data, size, 0, GRAFT_IMAGE_CORRUPT, info};
    memset(info, 0, sizeof *info);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, png_fail, png_ignore_warning);
    png_infop header = png == NULL ? NULL : png_create_info_struct(png);
    if (header == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(info, "out of memory");
        return GRAFT_IMAGE_CORRUPT;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &header, NULL);
        return (GraftImageStatus)context.status;
    }
    png_set_read_fn(png, &context, png_read_memory);
    png_read_info(png, header);
    int color_type = png_get_color_type(png, header);
    int bit_depth = png_get_bit_depth(png, header);
    info->width = png_get_image_width(png, header);
    info->height = png_get_image_height(png, header);
    info->components = png_get_channels(png, header);
    info->color_space = color_type;
    info->bit_depth = bit_depth;
    info->interlaced = png_get_interlace_type(png, header) != PNG_INTERLACE_NONE;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16 && !keep_16) png_set_strip_16(png);
    const uint16_t one = 1;
    if (bit_depth == 16 && keep_16 && *(const uint8_t *)&one == 1) png_set_swap(png);
    png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, header);
    info->channels = png_get_channels(png, header);
    info->bytes_per_sample = png_get_bit_depth(png, header) / 8;
    size_t stride = png_get_rowbytes(png, header);
    if ((info->channels != 1 && info->channels != 3) || info->bytes_per_sample < 1
        || stride != (size_t)info->width * (size_t)(info->channels * info->bytes_per_sample)) {
        png_error(png, "unexpected sample layout after transformations");
    }
    if (out != NULL && capacity / stride < info->height) png_error(png, "output buffer too small");
    for (int pass = 0; out != NULL && pass < passes; pass++) {
        for (png_uint_32 y = 0; y < info->height; y++) {
            png_read_row(png, (png_bytep)out + (size_t)y * stride, NULL);
        }
    }
    png_destroy_read_struct(&png, &header, NULL);
    return GRAFT_IMAGE_OK;
}
