// puffer.h: small helpers shared by every Ocean env: a per-env random number generator, a software canvas for
// c_render, and safe text appends for c_render_text. Plain C, no Python: env headers include only this.
#ifndef PUFFER_H
#define PUFFER_H

// A Python extension is compiled with -fPIC, where GCC assumes any global function (c_step, ...) might be replaced
// at load time and so never inlines it into the binding's stepping loop. Env functions are never replaced: say so.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-semantic-interposition")
#endif

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------------------------
// Random numbers. Each env owns a uint64_t state (env->rng), so vectors are reproducible and thread safe; never use
// the global rand(). The generator is SplitMix64: one add and a few xor-shift-multiplies per draw.

static inline uint64_t rng_next(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The starting state of env `index` of a vector seeded with `seed`: distinct, well mixed streams for every pair.
static inline uint64_t rng_seed(uint64_t seed, uint64_t index) {
    uint64_t state = seed ^ 0xD1B54A32D192ED03ULL;
    uint64_t mixed = rng_next(&state);
    state = mixed ^ (index * 0xA24BAED4963EE407ULL);
    rng_next(&state);
    return state;
}

// Uniform integer in [0, n) for n >= 1 (multiply-shift: no division, bias below 2^-32).
static inline int rng_int(uint64_t* state, int n) {
    return (int)(((rng_next(state) >> 32) * (uint64_t)n) >> 32);
}

// Uniform float in [0, 1) with 24 random bits.
static inline float rng_float(uint64_t* state) {
    return (float)(rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

// Uniform double in [0, 1) with 53 random bits.
static inline double rng_double(uint64_t* state) {
    return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static inline float rng_uniform(uint64_t* state, float low, float high) {
    return low + (high - low) * rng_float(state);
}

// Sticky actions (ALE's repeat_action_probability; Machado et al., 2018): with probability p a frame repeats the
// previous frame's action instead of the chosen one. Draws a number only when p > 0, so p = 0 leaves the stream as
// it was. Returns the action this frame plays and remembers it in *last.
static inline int sticky_action(uint64_t* state, int action, int* last, float p) {
    if (p > 0.0f && rng_float(state) < p) action = *last;
    *last = action;
    return action;
}

// The ALE's two parameters, first in the PARAMS of an Atari-style env (Machado et al.'s defaults): frames per
// step, and the sticky-action probability. The env declares `int frameskip; float repeat_action_probability;`.
#define ALE_PARAMS(INT, FLOAT) INT(frameskip, 4, 1, 16) FLOAT(repeat_action_probability, 0.25, 0.0f, 1.0f)

// ---------------------------------------------------------------------------------------------------------------
// Software drawing onto an RGB byte frame [height][width][3]. Everything clips to the frame, so an env can draw a
// shape that is partly off screen without checking.

typedef struct { unsigned char r, g, b; } Color;
typedef struct { unsigned char* pixels; int width, height; } Canvas;

#define COLOR_BLACK ((Color){0, 0, 0})
#define COLOR_WHITE ((Color){255, 255, 255})
#define COLOR_GRAY ((Color){128, 128, 128})
#define COLOR_RED ((Color){230, 60, 60})
#define COLOR_GREEN ((Color){60, 200, 90})
#define COLOR_BLUE ((Color){60, 110, 230})
#define COLOR_YELLOW ((Color){240, 210, 60})
#define COLOR_CYAN ((Color){60, 210, 220})
#define COLOR_PURPLE ((Color){170, 80, 220})
#define COLOR_ORANGE ((Color){245, 150, 50})
#define COLOR_BACKGROUND ((Color){6, 24, 24})

static inline Canvas canvas_of(unsigned char* pixels, int width, int height) {
    return (Canvas){pixels, width, height};
}

static inline void draw_pixel(Canvas canvas, int x, int y, Color color) {
    if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
    unsigned char* p = canvas.pixels + 3 * ((size_t)y * canvas.width + x);
    p[0] = color.r; p[1] = color.g; p[2] = color.b;
}

// Filled rectangle with top-left corner (x, y), size w x h pixels.
static inline void draw_rect(Canvas canvas, int x, int y, int w, int h, Color color) {
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > canvas.width ? canvas.width : x + w;
    int y1 = y + h > canvas.height ? canvas.height : y + h;
    for (int row = y0; row < y1; row++) {
        unsigned char* p = canvas.pixels + 3 * ((size_t)row * canvas.width + x0);
        for (int col = x0; col < x1; col++, p += 3) { p[0] = color.r; p[1] = color.g; p[2] = color.b; }
    }
}

static inline void draw_clear(Canvas canvas, Color color) {
    draw_rect(canvas, 0, 0, canvas.width, canvas.height, color);
}

// Filled circle centred on (cx, cy).
static inline void draw_circle(Canvas canvas, int cx, int cy, int radius, Color color) {
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++)
            if (dx * dx + dy * dy <= radius * radius) draw_pixel(canvas, cx + dx, cy + dy, color);
}

// Straight line from (x0, y0) to (x1, y1), Bresenham's algorithm.
static inline void draw_line(Canvas canvas, int x0, int y0, int x1, int y1, Color color) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int error = dx + dy;
    for (;;) {
        draw_pixel(canvas, x0, y0, color);
        if (x0 == x1 && y0 == y1) return;
        int twice = 2 * error;
        if (twice >= dy) { error += dy; x0 += sx; }
        if (twice <= dx) { error += dx; y0 += sy; }
    }
}

// A 3x5 pixel font for digits, capital letters and a few signs; each glyph is 15 bits, row-major, top row first.
static inline unsigned short font_glyph(char c) {
    static const unsigned short digits[10] = {
        0x7B6F, 0x2C97, 0x73E7, 0x72CF, 0x5BC9, 0x79CF, 0x79EF, 0x7292, 0x7BEF, 0x7BCF};
    static const unsigned short letters[26] = {
        0x2BED, 0x6BAE, 0x3923, 0x6B6E, 0x79A7, 0x79A4, 0x396B, 0x5BED, 0x7497, 0x126A, 0x5BAD, 0x4927, 0x5FED,
        0x6B6D, 0x2B6A, 0x6BA4, 0x2B73, 0x6BAD, 0x388E, 0x7492, 0x5B6F, 0x5B6A, 0x5BFD, 0x5AAD, 0x5A92, 0x72A7};
    if (c >= '0' && c <= '9') return digits[c - '0'];
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    if (c >= 'A' && c <= 'Z') return letters[c - 'A'];
    if (c == '-') return 0x01C0;
    if (c == ':') return 0x0410;
    if (c == '.') return 0x0002;
    return 0;  // space and anything unknown draw nothing
}

// Text in the 3x5 font, each font pixel drawn as a scale x scale block; characters advance by 4 * scale.
static inline void draw_text(Canvas canvas, int x, int y, const char* text, int scale, Color color) {
    for (; *text; text++, x += 4 * scale) {
        unsigned short glyph = font_glyph(*text);
        for (int bit = 0; bit < 15; bit++)
            if (glyph & (1 << (14 - bit)))
                draw_rect(canvas, x + (bit % 3) * scale, y + (bit / 3) * scale, scale, scale, color);
    }
}

// draw_text of a printf-style line (at most 63 characters), for scores and counters on a frame.
static inline void draw_textf(Canvas canvas, int x, int y, int scale, Color color, const char* format, ...) {
    char text[64];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    draw_text(canvas, x, y, text, scale, color);
}

// ---------------------------------------------------------------------------------------------------------------
// Text pictures for c_render_text: printf-style appends that never overflow `size` and keep the string terminated.
// Usage: int length = 0; text_append(buffer, size, &length, "score %d\n", score); return length;

static inline void text_append(char* buffer, int size, int* length, const char* format, ...) {
    if (*length >= size - 1) return;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(buffer + *length, (size_t)(size - *length), format, args);
    va_end(args);
    if (written > 0) *length += written < size - *length ? written : size - 1 - *length;
}

// ---------------------------------------------------------------------------------------------------------------
// The env contract's fields, stated once. An env header writes (before its struct):
//
//     #define OBS_TYPE float                  // observation element type: float or unsigned char
//     #define ACT_TYPE int                    // action element type: int (Discrete/MultiDiscrete) or float (Box)
//     #define LOG_STATS(X) X(draws) X(illegal)   // the env's own episode stats (float sums), or nothing
//     PUFFER_LOG(LOG_STATS)                   // typedef struct { score, episode_return, episode_length, n, ...} Log
//     typedef struct {
//         PUFFER_ENV_FIELDS                   // Log log; the buffers the binding attaches; uint64_t rng
//         int size;                           // parameters, then game state
//     } MyEnv;
//
// On episode end the env adds to log.score, log.episode_return, log.episode_length, its stats, and log.n += 1;
// the binding reports each as a mean over finished episodes (my_log is generated from LOG_STATS).
//
// An env that allocates nothing writes PUFFER_PLAIN_LIFECYCLE(MyEnv, my_new_episode) for its c_init (nothing to do),
// c_reset (my_new_episode(env): the binding has already cleared rewards, terminals and truncations) and c_close.
#define PUFFER_PLAIN_LIFECYCLE(Type, new_episode)      \
    int c_init(Type* env) { (void)env; return 0; }     \
    void c_reset(Type* env) { new_episode(env); }      \
    void c_close(Type* env) { (void)env; }
//
// A single-agent env ends each c_step with puffer_write_step(env, reward, terminal, truncated) (row 0), and on the
// step an episode ends calls puffer_log_episode(env, score, episode_return, episode_length) before adding its own
// LOG_STATS.
#define puffer_write_step(env, reward, terminal, truncated) \
    ((env)->rewards[0] = (reward), (env)->terminals[0] = (unsigned char)(terminal), \
     (env)->truncations[0] = (unsigned char)(truncated))
#define puffer_log_episode(env, score_value, return_value, length_value)                                      \
    ((env)->log.score += (float)(score_value), (env)->log.episode_return += (float)(return_value),               \
     (env)->log.episode_length += (float)(length_value), (env)->log.n += 1.0f)
#define PUFFER_LOG_FIELD(name) float name;
#define PUFFER_LOG(STATS) \
    typedef struct { float score; float episode_return; float episode_length; float n; STATS(PUFFER_LOG_FIELD) } Log;
#define PUFFER_ENV_FIELDS \
    Log log;                    /* episode sums since the last report */ \
    OBS_TYPE* observations;     /* this env's rows: NUM_AGENTS * OBS_SIZE */ \
    ACT_TYPE* actions;          /* NUM_AGENTS * ACT_SIZE, already clamped into the action space */ \
    float* rewards;             /* NUM_AGENTS */ \
    unsigned char* terminals;   /* NUM_AGENTS, written 0/1 every step */ \
    unsigned char* truncations; /* NUM_AGENTS, written 0/1 every step */ \
    unsigned char* action_mask; /* NUM_AGENTS * sum of ACT_N, 1 = legal, written on reset and every step by */ \
                                /* envs that define ACTION_MASK in their binding; NULL for the others */ \
    uint64_t rng;               /* seeded from (vector seed, env index) before c_reset */

#endif
