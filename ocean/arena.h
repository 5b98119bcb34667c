// arena.h: the padded grid of the arena envs (snake, swarm). The playing area is width x height cells of byte codes
// inside a border `vision` cells deep, so that an agent's (2 * vision + 1)^2 view is a copy of whole rows that never
// leaves the array: row stride = width + 2 * vision, and cell (x, y) is at (y + vision) * stride + x + vision. An
// env keeps `cells`, `width`, `height`, `vision` and `stride` members and passes arena_of(env) to these helpers;
// arrays of other element types laid out the same way (swarm's food and agent ids) use arena_fill too.
#ifndef PUFFER_ARENA_H
#define PUFFER_ARENA_H
#include "puffer.h"

typedef struct {
    unsigned char* cells;
    int width, height, vision, stride;
} Arena;

#define arena_of(env) ((Arena){(env)->cells, (env)->width, (env)->height, (env)->vision, (env)->stride})

// Sets *stride for a width x height area with a `vision` border; returns the padded cell count.
static inline int arena_layout(int width, int height, int vision, int* stride) {
    *stride = width + 2 * vision;
    return *stride * (height + 2 * vision);
}

// The index of playable cell (x, y); -1 outside the playing area.
static inline int arena_cell(Arena arena, long x, long y) {
    if (x < 0 || y < 0 || x >= arena.width || y >= arena.height) return -1;
    return (int)((y + arena.vision) * arena.stride + x + arena.vision);
}

// A uniformly random playable cell (x drawn first, then y).
static inline int arena_random_cell(Arena arena, uint64_t* rng) {
    int x = rng_int(rng, arena.width), y = rng_int(rng, arena.height);
    return (y + arena.vision) * arena.stride + x + arena.vision;
}

// Set every byte of the playable rows of `array` (items of `item_size` bytes, laid out like the cells) to `byte`.
static inline void arena_fill(Arena arena, void* array, size_t item_size, int byte) {
    for (int y = 0; y < arena.height; y++) {
        size_t row = (size_t)((y + arena.vision) * arena.stride + arena.vision);
        memset((unsigned char*)array + row * item_size, byte, (size_t)arena.width * item_size);
    }
}

// The (2 * vision + 1)^2 codes around cell `centre`, row by row, into `view`.
static inline void arena_view(Arena arena, unsigned char* view, int centre) {
    int side = 2 * arena.vision + 1;
    const unsigned char* corner = arena.cells + centre - arena.vision * arena.stride - arena.vision;
    for (int row = 0; row < side; row++) memcpy(view + row * side, corner + row * arena.stride, (size_t)side);
}

// The playing area as squares as large as fit the frame (at least 1 pixel; a larger area is cut off), colored by
// code, on COLOR_BACKGROUND; cells holding `skip` (-1 for none) show the background.
static inline void arena_render(Arena arena, Canvas canvas, const Color* colors, int skip) {
    int a = canvas.width / arena.width, b = canvas.height / arena.height;
    int size = a < b ? a : b;
    if (size < 1) size = 1;
    draw_clear(canvas, COLOR_BACKGROUND);
    for (int y = 0; y < arena.height && y * size < canvas.height; y++)
        for (int x = 0; x < arena.width && x * size < canvas.width; x++) {
            int code = arena.cells[(y + arena.vision) * arena.stride + x + arena.vision];
            if (code != skip) draw_rect(canvas, x * size, y * size, size, size, colors[code]);
        }
}

// The playing area as text, one character per cell (symbols[code]), one line per row; returns the length.
static inline int arena_render_text(Arena arena, char* buffer, int size, const char* symbols) {
    int length = 0;
    for (int y = 0; y < arena.height; y++) {
        const unsigned char* row = arena.cells + (y + arena.vision) * arena.stride + arena.vision;
        for (int x = 0; x < arena.width; x++) text_append(buffer, size, &length, "%c", symbols[row[x]]);
        text_append(buffer, size, &length, "\n");
    }
    return length;
}

#endif
