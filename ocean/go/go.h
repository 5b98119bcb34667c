// Go on a size x size board (5..19) with Tromp-Taylor rules: area scoring (stones plus empty regions that reach only
// one colour) with komi for white, captures, suicide illegal, positional superko (a move may not recreate any earlier
// position of the game, found by a Zobrist hash of the board kept for every position), a pass action, and the end
// after two passes in a row or after `max_moves` moves (passes included; 0 means 3 * size * size). Then the score
// decides: +1 to the winner, -1 to the loser, 0 to both on a tie (only possible with an integer komi).
//
// Against the scripted opponent (opponent = 0) a coin flip decides the agent's colour each game (black moves first).
// The scripted player captures when it can (a random capturing move), otherwise plays a random legal move that
// neither fills one of its own eyes (a point whose neighbours are all its stones or the edge) nor leaves the new
// stone's group with fewer than 2 liberties (estimated: adjacent empty points plus each joined group's liberties
// minus one), otherwise passes; and it passes as soon as the agent has passed while it leads on the area count.
// An illegal action (occupied point, suicide, superko) is played as a pass and counted in the `illegal` stat.
//
// Superko: the history keeps each position's hash and stone count. Two equal positions hold as many stones, so a
// move is checked only against the positions with the stone count it would leave; a move to more stones than any
// earlier position (most moves) needs no look-up at all. For the legal mask the test runs the other way round: each
// earlier position with one stone more than now, XORed with the current hash, is the key of the one stone that
// would recreate it (a table maps keys back to points), so the whole mask costs one pass over those few positions.
//
// With opponent = 1 (agent mode, "Two-player games" in ocean/README.md) rows 0 and 1 are the two sides (a coin flip
// gives row 0 black or white), one move per step by the side to move; the waiting row's mask is 0.
//
// The board is padded with an edge ring: cell (r, c) is index (r + 1) * (size + 2) + (c + 1), so the four
// neighbours of a point never need a bounds check.
//
// Groups are kept incrementally as stones are played and taken: each stone names its group's root stone, the
// stones of a group form a circular list, and each group keeps its pseudo-liberties (adjacent empty points counted
// once per adjacent stone) with their sum and sum of squares. A group is in atari (exactly one distinct liberty)
// when it has pseudo-liberties that are all the same point: sum^2 = count * sum of squares (Cauchy-Schwarz is
// tight only for equal values), and that point is sum / count. Nothing is relabelled after a move. Bitboards of the
// empty points, of each colour's stones, of each colour's group roots and of the roots of its groups in atari
// (bit = padded cell index) find the points next to an empty one, the last liberties of groups in atari and the
// areas a few words at a time; each colour's stones are also kept by point, and the observation and mask are
// copied from bit strings eight points per table entry.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stddef.h>
#include "puffer.h"

#define GO_MAX_SIZE 19
#define GO_MAX_CELLS ((GO_MAX_SIZE + 2) * (GO_MAX_SIZE + 2))
#define GO_EMPTY 0
#define GO_BLACK 1
#define GO_WHITE 2
#define GO_EDGE 3
#define GO_KEY_SLOTS 4096     // open-addressing table from a Zobrist key back to its colour and point
#define GO_WORDS ((GO_MAX_CELLS + 63) / 64)   // 64-bit words of a bitboard over the padded cells
#define GO_POINT_WORDS ((GO_MAX_SIZE * GO_MAX_SIZE + 63) / 64)   // of a bit string over the points only
#define FRAME_W 320
#define FRAME_H 320

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(draws)      /* games tied on the area count */ \
    X(illegal)    /* row 0's illegal actions (played as passes) per game */ \
    X(margin)     /* row 0's area minus the other side's, komi included, at the end */ \
    X(captures)   /* stones row 0 captured per game */ \
    X(black)      /* 1 when row 0 played black */
PUFFER_LOG(LOG_STATS)   // score: 1 for a win by row 0, 0 otherwise, so its mean is the win rate

// What the group code keeps per cell, side by side so that a look-up from a stone to its root's counts touches one
// cache line per stone rather than one per array.
typedef struct {
    short root;       // each stone's group: the root stone's point
    short next;       // the next stone of the same group (a circular list)
    short count;      // per root: stones
    short pseudo;     // per root: pseudo-liberties
    int sum, square;  // per root: sum and sum of squares of the pseudo-liberties' points
} GoCell;

typedef struct {
    PUFFER_ENV_FIELDS
    unsigned char* masks;     // agent mode: 1 for the row to move (AGENT_MASKS in vecenv.h)
    int opponent;             // parameter: 0 scripted, 1 agent (a second agent row)
    int size;                 // parameter: board side
    float komi;               // parameter: points added to white's area
    int max_moves;            // parameter: moves (passes included) before the game is scored; 0: 3 * size * size
    int width, points, limit; // derived: size + 2, size * size, the move cap in force
    uint64_t* history;        // hashes of every position of the game so far (limit + 1 entries allocated)
    unsigned short* history_stones;  // the stones of each of those positions (in the same allocation)
    // Game state (STATE in the binding)
    unsigned char board[GO_MAX_CELLS];
    uint64_t hash;            // Zobrist hash of board
    int history_len;
    int stones, peak;         // stones on the board now, and the most of any position in history
    int to_move;              // GO_BLACK or GO_WHITE
    int row0_color;           // the colour row 0 (the scripted mode's agent) plays
    int passes;               // consecutive passes just played (0 or 1 between steps)
    int moves;                // moves this game, passes included
    int steps;                // c_step calls this game
    int captured;             // stones row 0 captured this game
    int illegal;              // row 0's illegal actions this game
    // Derived from the board, kept move by move; rebuilt when the board's hash is not groups_hash (a new game,
    // set_board, a restored snapshot)
    int groups_valid;
    uint64_t groups_hash;
    GoCell cell[GO_MAX_CELLS];         // per stone: its group and list link; per root: the group's counts
    uint64_t group_hash[GO_MAX_CELLS]; // per root: Zobrist hash of its stones
    uint64_t empty_bits[GO_WORDS];     // empty points
    uint64_t stone_bits[2][GO_WORDS];  // black's stones, white's stones
    uint64_t stone_points[2][GO_POINT_WORDS];  // the same by point (as actions number them): observation planes
    uint64_t root_bits[2][GO_WORDS];   // the root stone of each black group, of each white group
    uint64_t atari_bits[2][GO_WORDS];  // the roots of the groups in atari, kept as their liberties change
    int words;                         // words in use: (width^2 + 63) / 64
    uint64_t point_bits[GO_WORDS];     // the board's points (set by c_init): the empty points of a new game
    // Scratch
    short order[GO_MAX_CELLS];         // flood-fill queue
    short seen[GO_MAX_CELLS];          // liberty stamps while counting a group's liberties
    int stamp;                         // the last stamp written in seen
} Go;

static uint64_t go_zobrist[2][GO_MAX_CELLS];
static unsigned short go_key_slot[GO_KEY_SLOTS];   // 0 empty, else 1 + colour index * GO_MAX_CELLS + point
static float go_byte_floats[256][8];               // the 8 bits of the index as floats, lowest first
static unsigned char go_byte_bytes[256][8];        // and as bytes
static int go_zobrist_ready = 0;

// The keys are distinct: splitmix64 maps distinct counter states to distinct outputs.
static void go_init_zobrist(void) {
    if (go_zobrist_ready) return;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (int c = 0; c < 2; c++) {
        for (int p = 0; p < GO_MAX_CELLS; p++) {
            go_zobrist[c][p] = rng_next(&state);
            int slot = (int)(go_zobrist[c][p] >> 52);
            while (go_key_slot[slot]) slot = (slot + 1) & (GO_KEY_SLOTS - 1);
            go_key_slot[slot] = (unsigned short)(1 + c * GO_MAX_CELLS + p);
        }
    }
    for (int k = 0; k < 256; k++) {
        for (int j = 0; j < 8; j++) {
            go_byte_floats[k][j] = (float)((k >> j) & 1);
            go_byte_bytes[k][j] = (unsigned char)((k >> j) & 1);
        }
    }
    go_zobrist_ready = 1;
}

// The point whose key for colour index c is `key`, or -1 when `key` is no such key.
static inline int go_key_point(int c, uint64_t key) {
    for (int slot = (int)(key >> 52); go_key_slot[slot]; slot = (slot + 1) & (GO_KEY_SLOTS - 1)) {
        int entry = go_key_slot[slot] - 1;
        if ((&go_zobrist[0][0])[entry] == key) return entry / GO_MAX_CELLS == c ? entry % GO_MAX_CELLS : -1;
    }
    return -1;
}

static inline int go_cell(const Go* env, int action) {
    return (action / env->size + 1) * env->width + action % env->size + 1;
}

// The point (action number) of a cell on the board.
static inline int go_point(const Go* env, int p) {
    return (p / env->width - 1) * env->size + p % env->width - 1;
}

static inline int go_is_stone(int b) { return b == GO_BLACK || b == GO_WHITE; }

static inline void go_bit_set(uint64_t* bits, int p) { bits[p >> 6] |= 1ULL << (p & 63); }
static inline void go_bit_clear(uint64_t* bits, int p) { bits[p >> 6] &= ~(1ULL << (p & 63)); }

// The cells next to a cell of `in` (its four neighbours; edge cells and bits past the board may be set: callers
// mask with the empty points).
static void go_dilate(const Go* env, const uint64_t* in, uint64_t* out) {
    const int w = env->width, n = env->words;
    uint64_t padded[GO_WORDS + 2];   // a zero word on either side: no tests in the loop
    padded[0] = padded[n + 1] = 0;
    memcpy(padded + 1, in, sizeof(uint64_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        uint64_t x = padded[i + 1], lo = padded[i], hi = padded[i + 2];
        out[i] = (x << 1) | (lo >> 63) | (x >> 1) | (hi << 63) | (x << w) | (lo >> (64 - w)) | (x >> w) |
                 (hi << (64 - w));
    }
}

// Exactly one distinct liberty (the pseudo-liberties are all one point).
static inline int go_atari(const Go* env, int g) {
    int64_t n = env->cell[g].pseudo, sum = env->cell[g].sum;
    return n > 0 && sum * sum == n * (int64_t)env->cell[g].square;
}

// Root g's bit in atari_bits, after its liberties changed (the loops that need the groups in atari then read a word
// or two instead of every group's counts).
static inline void go_mark_atari(Go* env, int g) {
    uint64_t* bits = env->atari_bits[env->board[g] - 1];
    if (go_atari(env, g)) go_bit_set(bits, g);
    else go_bit_clear(bits, g);
}

static inline void go_add_liberty(Go* env, int g, int point) {
    env->cell[g].pseudo++;
    env->cell[g].sum += point;
    env->cell[g].square += point * point;
    go_mark_atari(env, g);
}

static inline void go_remove_liberty(Go* env, int g, int point) {
    env->cell[g].pseudo--;
    env->cell[g].sum -= point;
    env->cell[g].square -= point * point;
    go_mark_atari(env, g);
}

// Two or more distinct liberties.
static inline int go_breathes(const Go* env, int g) {
    return env->cell[g].pseudo > 0 && !go_atari(env, g);
}

// Distinct liberties of group g (walks its stones; only the scripted player's liberty estimate needs the count).
static int go_liberties(Go* env, int g) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    if (++env->stamp > 30000) {
        memset(env->seen, 0, sizeof(env->seen));
        env->stamp = 1;
    }
    int libs = 0, q = g;
    do {
        for (int d = 0; d < 4; d++) {
            int n = q + offsets[d];
            if (env->board[n] == GO_EMPTY && env->seen[n] != env->stamp) {
                env->seen[n] = (short)env->stamp;
                libs++;
            }
        }
        q = env->cell[q].next;
    } while (q != g);
    return libs;
}

// Groups of the current board from scratch: roots, stone lists, pseudo-liberties and hashes.
// Point p (a stone of `color`) becomes the root of a group of its own: `count` stones so far, no liberties yet, and
// the group's Zobrist hash `hash`.
static inline void go_new_root(Go* env, int p, int color, int count, uint64_t hash) {
    go_bit_set(env->root_bits[color - 1], p);
    env->cell[p].root = (short)p;
    env->cell[p].next = (short)p;
    env->cell[p].count = (short)count;
    env->cell[p].pseudo = 0;
    env->cell[p].sum = env->cell[p].square = 0;
    env->group_hash[p] = hash;
}

static void go_build_groups(Go* env) {
    const int w = env->width, s = env->size;
    const int offsets[4] = {1, -1, w, -w};
    env->words = (w * w + 63) / 64;
    memset(env->empty_bits, 0, sizeof(env->empty_bits));
    memset(env->stone_bits, 0, sizeof(env->stone_bits));
    memset(env->stone_points, 0, sizeof(env->stone_points));
    memset(env->root_bits, 0, sizeof(env->root_bits));
    memset(env->atari_bits, 0, sizeof(env->atari_bits));
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            int p = r * w + c, b = env->board[p];
            env->cell[p].root = -1;
            if (b == GO_EMPTY) go_bit_set(env->empty_bits, p);
            else if (go_is_stone(b)) {
                go_bit_set(env->stone_bits[b - 1], p);
                go_bit_set(env->stone_points[b - 1], (r - 1) * s + c - 1);
            }
        }
    }
    for (int r = 1; r <= s; r++) {
        for (int c = 1; c <= s; c++) {
            int p = r * w + c, color = env->board[p];
            if (color == GO_EMPTY || env->cell[p].root >= 0) continue;
            int top = 0, last = p;
            go_new_root(env, p, color, 0, 0);
            env->order[top++] = (short)p;
            for (int k = 0; k < top; k++) {
                int q = env->order[k];
                env->cell[p].count++;
                env->group_hash[p] ^= go_zobrist[color - 1][q];
                for (int d = 0; d < 4; d++) {
                    int n = q + offsets[d], b = env->board[n];
                    if (b == GO_EMPTY) {
                        go_add_liberty(env, p, n);
                    } else if (b == color && env->cell[n].root < 0) {
                        env->cell[n].root = (short)p;
                        env->cell[n].next = env->cell[last].next;   // append after the last stone listed
                        env->cell[last].next = (short)n;
                        last = n;
                        env->order[top++] = (short)n;
                    }
                }
            }
        }
    }
    env->groups_valid = 1;
    env->groups_hash = env->hash;
}

static inline void go_ensure_groups(Go* env) {
    if (!env->groups_valid || env->groups_hash != env->hash) go_build_groups(env);
}

// Joins group b into group a (both roots of colour `color`): the smaller one's stones take the larger's root.
static int go_merge(Go* env, int a, int b, int color) {
    if (env->cell[a].count < env->cell[b].count) {
        int t = a;
        a = b;
        b = t;
    }
    go_bit_clear(env->root_bits[color - 1], b);
    go_bit_clear(env->atari_bits[color - 1], b);
    int q = b;
    do {
        env->cell[q].root = (short)a;
        q = env->cell[q].next;
    } while (q != b);
    short after_a = env->cell[a].next;
    env->cell[a].next = env->cell[b].next;
    env->cell[b].next = after_a;
    env->cell[a].count += env->cell[b].count;
    env->cell[a].pseudo += env->cell[b].pseudo;
    env->cell[a].sum += env->cell[b].sum;
    env->cell[a].square += env->cell[b].square;
    env->group_hash[a] ^= env->group_hash[b];
    go_mark_atari(env, a);
    return a;
}

// Takes group g off the board: its points become liberties of the groups around them. Returns its stones.
static int go_remove_group(Go* env, int g, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int q = g, count = env->cell[g].count;
    go_bit_clear(env->root_bits[color - 1], g);
    go_bit_clear(env->atari_bits[color - 1], g);
    do {
        env->board[q] = GO_EMPTY;
        env->hash ^= go_zobrist[color - 1][q];
        go_bit_set(env->empty_bits, q);
        go_bit_clear(env->stone_bits[color - 1], q);
        go_bit_clear(env->stone_points[color - 1], go_point(env, q));
        q = env->cell[q].next;
    } while (q != g);
    do {
        for (int d = 0; d < 4; d++) {
            int n = q + offsets[d];
            if (go_is_stone(env->board[n])) go_add_liberty(env, env->cell[n].root, q);
        }
        q = env->cell[q].next;
    } while (q != g);
    return count;
}

// Whether the position of `stones` stones and this hash occurred before in the game. More stones than any earlier
// position: new whatever the hash.
static int go_seen(const Go* env, uint64_t hash, int stones) {
    if (stones > env->peak) return 0;
    for (int i = 0; i < env->history_len; i++)
        if (env->history_stones[i] == stones && env->history[i] == hash) return 1;
    return 0;
}

// Records the current position in the history (which has room for every move of a game).
static inline void go_record(Go* env) {
    if (env->history_len < env->limit + 1) {
        env->history[env->history_len] = env->hash;
        env->history_stones[env->history_len++] = (unsigned short)env->stones;
    }
}

// Whether `color` may play the empty point p (groups current): not suicide, not a repeat of an earlier position.
static int go_legal(const Go* env, int p, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int breathes = 0, other = 3 - color;
    uint64_t hash = env->hash ^ go_zobrist[color - 1][p];
    int taken[4], count = 0, removed = 0;
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d], b = env->board[n];
        if (b == GO_EMPTY) {
            breathes = 1;
        } else if (b == color) {
            if (go_breathes(env, env->cell[n].root)) breathes = 1;
        } else if (b == other) {
            int g = env->cell[n].root;
            if (!go_atari(env, g)) continue;
            int seen = 0;
            for (int k = 0; k < count; k++) seen |= taken[k] == g;
            if (seen) continue;
            taken[count++] = g;
            removed += env->cell[g].count;
            hash ^= env->group_hash[g];
            breathes = 1;
        }
    }
    return breathes && !go_seen(env, hash, env->stones + 1 - removed);
}

// Plays a legal move (groups current): places the stone, removes the groups it takes, records the position.
static int go_place(Go* env, int p, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int other = 3 - color, taken = 0, doomed[4], count = 0;
    for (int d = 0; d < 4; d++) {   // the enemy groups in atari next to p lose their last liberty
        int n = p + offsets[d];
        if (env->board[n] != other || !go_atari(env, env->cell[n].root)) continue;
        int g = env->cell[n].root, seen = 0;
        for (int k = 0; k < count; k++) seen |= doomed[k] == g;
        if (!seen) doomed[count++] = g;
    }
    env->board[p] = (unsigned char)color;
    env->hash ^= go_zobrist[color - 1][p];
    go_bit_clear(env->empty_bits, p);
    go_bit_set(env->stone_bits[color - 1], p);
    go_bit_set(env->stone_points[color - 1], go_point(env, p));
    go_new_root(env, p, color, 1, go_zobrist[color - 1][p]);
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d], b = env->board[n];
        if (b == GO_EMPTY) go_add_liberty(env, p, n);
        else if (go_is_stone(b)) go_remove_liberty(env, env->cell[n].root, p);
    }
    int g = p;
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d];
        if (env->board[n] == color && env->cell[n].root != g) g = go_merge(env, g, env->cell[n].root, color);
    }
    for (int k = 0; k < count; k++) taken += go_remove_group(env, doomed[k], other);
    env->groups_hash = env->hash;
    env->stones += 1 - taken;
    if (env->stones > env->peak) env->peak = env->stones;
    go_record(env);
    return taken;
}

// Set bits of a word (a portable bit count: the build targets no particular x86 level).
static inline int go_popcount(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

// Tromp-Taylor areas: each side's stones plus the empty regions that reach only its stones. The empty points that
// reach a colour are grown from the points next to its stones, one step through empty points at a time.
// The growing is done in place, one word at a time until that word stops changing (registers only), in forward and
// backward sweeps until a sweep changes nothing: the same closure as growing the whole board a step at a time.
static inline uint64_t go_grow(uint64_t x, uint64_t lo, uint64_t hi, uint64_t empty, int w) {
    for (;;) {
        uint64_t y = x | (((x << 1) | (lo >> 63) | (x >> 1) | (hi << 63) | (x << w) | (lo >> (64 - w)) | (x >> w) |
                           (hi << (64 - w))) & empty);
        if (y == x) return x;
        x = y;
    }
}

static void go_areas(Go* env, int* black_area, int* white_area) {
    go_ensure_groups(env);
    const int n = env->words, w = env->width;
    const uint64_t* empty = env->empty_bits;
    uint64_t reach[2][GO_WORDS + 2];   // word i at i + 1, a zero word on either side
    for (int c = 0; c < 2; c++) {
        uint64_t* r = reach[c];
        r[0] = r[n + 1] = 0;
        go_dilate(env, env->stone_bits[c], r + 1);
        for (int i = 0; i < n; i++) r[i + 1] &= empty[i];
        for (int changed = 1; changed;) {
            changed = 0;
            for (int i = 1; i <= n; i++) {
                uint64_t x = go_grow(r[i], r[i - 1], r[i + 1], empty[i - 1], w);
                changed |= x != r[i];
                r[i] = x;
            }
            for (int i = n; i >= 1 && changed; i--) r[i] = go_grow(r[i], r[i - 1], r[i + 1], empty[i - 1], w);
        }
    }
    int black = 0, white = 0;
    for (int i = 1; i <= n; i++) {
        black += go_popcount(env->stone_bits[0][i - 1]) + go_popcount(reach[0][i] & ~reach[1][i]);
        white += go_popcount(env->stone_bits[1][i - 1]) + go_popcount(reach[1][i] & ~reach[0][i]);
    }
    *black_area = black;
    *white_area = white;
}

// Black's area minus white's, komi included (positive: black leads).
static float go_black_margin(Go* env) {
    int black, white;
    go_areas(env, &black, &white);
    return (float)(black - white) - env->komi;
}

static inline float go_margin_for(Go* env, int color) {
    float m = go_black_margin(env);
    return color == GO_BLACK ? m : -m;
}

// The cell of the k-th set bit (from 0) of a bitboard that has more than k.
static int go_select(const uint64_t* bits, int k) {
    int i = 0;
    for (int c; k >= (c = go_popcount(bits[i])); i++) k -= c;
    uint64_t x = bits[i];
    for (; k > 0; k--) x &= x - 1;
    return 64 * i + __builtin_ctzll(x);
}

// Whether the scripted player may play the empty point p: not its own eye, at least 2 liberties for the new stone's
// group (estimated) and legal.
static int go_scripted_accepts(Go* env, int p, int color) {
    const int w = env->width;
    const int offsets[4] = {1, -1, w, -w};
    int own_eye = 1, libs = 0;
    for (int d = 0; d < 4; d++) {
        int n = p + offsets[d], b = env->board[n];
        if (b == GO_EMPTY) {
            libs++;
            own_eye = 0;
        } else if (b == color) {
            int g = env->cell[n].root;   // its distinct liberties minus one: exact for none or one, else counted
            libs += env->cell[g].pseudo == 0 ? -1 : go_atari(env, g) ? 0 : go_liberties(env, g) - 1;
        } else if (b != GO_EDGE) {
            own_eye = 0;
        }
    }
    return !own_eye && libs >= 2 && go_legal(env, p, color);
}

// The scripted player's move for the side to move (groups current): a cell, or -1 to pass.
static int go_scripted_move(Go* env) {
    const int w = env->width;
    int color = env->to_move, other = 3 - color;
    if (env->passes == 1 && go_margin_for(env, color) > 0.0f) return -1;
    // Captures: the last liberty of each of the opponent's groups in atari, groups taken in the order of their
    // first stone on the board (row by row).
    short capture[GO_MAX_SIZE * GO_MAX_SIZE], empty[GO_MAX_SIZE * GO_MAX_SIZE];
    unsigned char listed[GO_MAX_CELLS];
    int n_capture = 0, n_empty = 0, ataris = 0;
    for (int i = 0; i < env->words; i++) ataris |= env->atari_bits[other - 1][i] != 0;
    if (ataris) {
        memset(listed, 0, (size_t)w * w);
        for (int i = 0; i < env->words; i++) {   // bit order is row-major cell order
            for (uint64_t bits = env->stone_bits[other - 1][i]; bits; bits &= bits - 1) {
                int p = 64 * i + __builtin_ctzll(bits), g = env->cell[p].root;
                if (listed[g] || !go_atari(env, g)) continue;
                listed[g] = 1;
                int liberty = env->cell[g].sum / env->cell[g].pseudo, known = 0;
                for (int k = 0; k < n_capture; k++) known |= capture[k] == liberty;
                if (!known && go_legal(env, liberty, color)) capture[n_capture++] = (short)liberty;
            }
        }
        if (n_capture) return capture[rng_int(&env->rng, n_capture)];
    }
    // Otherwise a uniform pick among the acceptable empty points (listed in cell order): draw one, drop it if it is
    // not acceptable (the last listed takes its place), draw again. The first draw, usually accepted, is read off
    // the bitboard; the list is written out only after a refusal.
    for (int i = 0; i < env->words; i++) n_empty += go_popcount(env->empty_bits[i]);
    if (n_empty == 0) return -1;
    int k = rng_int(&env->rng, n_empty), p = go_select(env->empty_bits, k);
    if (go_scripted_accepts(env, p, color)) return p;
    n_empty = 0;
    for (int i = 0; i < env->words; i++)
        for (uint64_t bits = env->empty_bits[i]; bits; bits &= bits - 1)
            empty[n_empty++] = (short)(64 * i + __builtin_ctzll(bits));
    empty[k] = empty[--n_empty];
    while (n_empty > 0) {
        k = rng_int(&env->rng, n_empty);
        p = empty[k];
        if (go_scripted_accepts(env, p, color)) return p;
        empty[k] = empty[--n_empty];
    }
    return -1;
}

// Plays one move (cell, or -1 for a pass) for the side to move; 1 when the game is over.
static int go_turn(Go* env, int cell) {
    int color = env->to_move;
    if (cell < 0) {
        env->passes++;
    } else {
        int taken = go_place(env, cell, color);
        if (color == env->row0_color) env->captured += taken;
        env->passes = 0;
    }
    env->moves++;
    env->to_move = 3 - color;
    return env->passes >= 2 || env->moves >= env->limit;
}

// The mover's legal points as a bitboard. A point next to an empty point that takes nothing (it is not the last
// liberty of an enemy group in atari) needs only the superko test; the others get the full go_legal.
static void go_legal_bits(Go* env, int color, uint64_t* legal) {
    const int n = env->words;
    uint64_t near_empty[GO_WORDS], takes[GO_WORDS];
    go_dilate(env, env->empty_bits, near_empty);
    memset(takes, 0, sizeof(uint64_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        for (uint64_t bits = env->atari_bits[2 - color][i]; bits; bits &= bits - 1) {
            int q = 64 * i + __builtin_ctzll(bits);
            go_bit_set(takes, env->cell[q].sum / env->cell[q].pseudo);
        }
    }
    // A stone that takes nothing recreates an earlier position of one stone more than now, of hash h, when its key
    // is h ^ hash: those points are the repeats.
    uint64_t repeats[GO_WORDS] = {0};
    if (env->stones + 1 <= env->peak) {
        for (int k = 0; k < env->history_len; k++) {
            if (env->history_stones[k] != env->stones + 1) continue;
            int p = go_key_point(color - 1, env->history[k] ^ env->hash);
            if (p >= 0) go_bit_set(repeats, p);
        }
    }
    for (int i = 0; i < n; i++) {
        uint64_t simple = env->empty_bits[i] & near_empty[i] & ~takes[i], out = simple & ~repeats[i];
        for (uint64_t bits = env->empty_bits[i] & ~simple; bits; bits &= bits - 1)
            if (go_legal(env, 64 * i + __builtin_ctzll(bits), color)) out |= bits & (0 - bits);
        legal[i] = out;
    }
}

// The s (at most 19) bits of a bitboard from cell `start` on, lowest first.
static inline uint32_t go_row_bits(const uint64_t* bits, int start, int s) {
    int word = start >> 6, shift = start & 63;
    uint64_t x = bits[word] >> shift;
    if (shift + s > 64) x |= bits[word + 1] << (64 - shift);
    return (uint32_t)x & ((1u << s) - 1);
}

// The points of a bitboard as a bit string by point (bit i: point i, as actions number them).
static void go_pack(const Go* env, const uint64_t* bits, uint64_t* packed) {
    const int s = env->size;
    memset(packed, 0, sizeof(uint64_t) * (size_t)((env->points + 63) / 64));
    for (int r = 0, at = 0; r < s; r++, at += s) {
        uint64_t row = go_row_bits(bits, (r + 1) * env->width + 1, s);
        packed[at >> 6] |= row << (at & 63);
        if ((at & 63) + s > 64) packed[(at >> 6) + 1] |= row >> (64 - (at & 63));
    }
}

// n floats (0 or 1) from a bit string, eight per table entry (a whole word's 8 entries in a fixed-count loop).
static inline void go_write_floats(float* out, const uint64_t* packed, int n) {
    int j = 0;
    for (; j + 64 <= n; j += 64, out += 64) {
        uint64_t x = packed[j >> 6];
#define GO_FLOATS8(k) memcpy(out + k, go_byte_floats[(x >> k) & 255], sizeof(go_byte_floats[0]));
        GO_FLOATS8(0) GO_FLOATS8(8) GO_FLOATS8(16) GO_FLOATS8(24) GO_FLOATS8(32) GO_FLOATS8(40) GO_FLOATS8(48)
        GO_FLOATS8(56)
#undef GO_FLOATS8
    }
    uint64_t x = j < n ? packed[j >> 6] : 0;
    int k = 0;
    for (; k + 8 <= n - j; k += 8, x >>= 8) memcpy(out + k, go_byte_floats[x & 255], sizeof(go_byte_floats[0]));
    for (; k < n - j; k++, x >>= 1) out[k] = go_byte_floats[x & 1][0];
}

static inline void go_write_bytes(unsigned char* out, const uint64_t* packed, int n) {
    int j = 0;
    for (; j + 64 <= n; j += 64, out += 64) {
        uint64_t x = packed[j >> 6];
        for (int k = 0; k < 64; k += 8) memcpy(out + k, go_byte_bytes[(x >> k) & 255], sizeof(go_byte_bytes[0]));
    }
    uint64_t x = j < n ? packed[j >> 6] : 0;
    int k = 0;
    for (; k + 8 <= n - j; k += 8, x >>= 8) memcpy(out + k, go_byte_bytes[x & 255], sizeof(go_byte_bytes[0]));
    for (; k < n - j; k++, x >>= 1) out[k] = (unsigned char)(x & 1);
}

// The row's observation: its stones, the other side's, its legal points (when it is to move), then 1 if it plays
// black and 1 if the last move was a pass. Its action-mask row too (the waiting row: only the pass).
static void go_write_row(Go* env, int row, int color, int mover) {
    const int n = env->points;
    float* obs = env->observations + (size_t)row * (3 * n + 2);
    unsigned char* mask = env->action_mask ? env->action_mask + (size_t)row * (n + 1) : NULL;
    uint64_t legal[GO_WORDS] = {0};
    if (mover) go_legal_bits(env, color, legal);
    uint64_t packed[GO_POINT_WORDS];
    go_write_floats(obs, env->stone_points[color - 1], n);
    go_write_floats(obs + n, env->stone_points[2 - color], n);
    go_pack(env, legal, packed);
    go_write_floats(obs + 2 * n, packed, n);
    if (mask) {
        go_write_bytes(mask, packed, n);
        mask[n] = 1;
    }
    obs[3 * n] = (float)(color == GO_BLACK);
    obs[3 * n + 1] = (float)(env->passes > 0);
}

static void go_write(Go* env) {
    go_ensure_groups(env);
    if (env->opponent) {
        int row0_moves = env->to_move == env->row0_color;
        go_write_row(env, 0, env->row0_color, row0_moves);
        go_write_row(env, 1, 3 - env->row0_color, !row0_moves);
        env->masks[0] = (unsigned char)row0_moves;
        env->masks[1] = (unsigned char)!row0_moves;
    } else {
        go_write_row(env, 0, env->row0_color, 1);
    }
}

// Empties the board and starts a game; the scripted opponent opens when it has black.
static void go_new_game(Go* env) {
    const int w = env->width;
    memset(env->board, GO_EDGE, (size_t)w * w);
    memset(env->board + w * w, 0, sizeof(env->board) - (size_t)w * w);
    for (int r = 1; r <= env->size; r++) memset(env->board + r * w + 1, GO_EMPTY, (size_t)env->size);
    env->hash = 0;
    env->stones = env->peak = 0;
    env->history_len = 0;
    go_record(env);
    env->to_move = GO_BLACK;
    env->row0_color = rng_int(&env->rng, 2) ? GO_WHITE : GO_BLACK;
    env->passes = env->moves = env->steps = env->captured = env->illegal = 0;
    // The groups of an empty board: no stones, every point empty (an empty point's cell is never read).
    memcpy(env->empty_bits, env->point_bits, sizeof(env->empty_bits));
    memset(env->stone_bits, 0, sizeof(env->stone_bits));
    memset(env->stone_points, 0, sizeof(env->stone_points));
    memset(env->root_bits, 0, sizeof(env->root_bits));
    memset(env->atari_bits, 0, sizeof(env->atari_bits));
    env->words = (w * w + 63) / 64;
    env->groups_valid = 1;
    env->groups_hash = env->hash;
    if (!env->opponent && env->row0_color == GO_WHITE) go_turn(env, go_scripted_move(env));
}

int c_init(Go* env) {
    go_init_zobrist();
    env->width = env->size + 2;
    env->points = env->size * env->size;
    env->limit = env->max_moves > 0 ? env->max_moves : 3 * env->points;
    env->history = (uint64_t*)calloc((size_t)env->limit + 1, sizeof(uint64_t) + sizeof(unsigned short));
    if (env->history == NULL) return -1;
    env->history_stones = (unsigned short*)(env->history + env->limit + 1);
    if (!env->opponent) env->masks[0] = 1;
    env->groups_valid = 0;
    memset(env->point_bits, 0, sizeof(env->point_bits));
    for (int r = 1; r <= env->size; r++)
        for (int c = 1; c <= env->size; c++) go_bit_set(env->point_bits, r * env->width + c);
    env->stamp = 0;
    memset(env->seen, 0, sizeof(env->seen));
    return 0;
}

void c_reset(Go* env) {
    go_new_game(env);
    go_write(env);
}  // the binding has already cleared rewards, terminals and truncations (vec_reset)

// The mover's action as a cell, or -1 for a pass (also for an illegal point, which is counted).
static int go_action_cell(Go* env, int action) {
    if (action >= env->points) return -1;
    int p = go_cell(env, action);
    if (env->board[p] == GO_EMPTY && go_legal(env, p, env->to_move)) return p;
    if (env->to_move == env->row0_color) env->illegal++;
    return -1;
}

// Scores the finished game, pays both rows, logs it (row 0's view) and starts the next one.
static void go_finish(Go* env) {
    float margin = go_margin_for(env, env->row0_color);
    float reward = margin > 0.0f ? 1.0f : margin < 0.0f ? -1.0f : 0.0f;
    env->rewards[0] = reward;
    env->terminals[0] = 1;
    if (env->opponent) {
        env->rewards[1] = 0.0f - reward;
        env->terminals[1] = 1;
    }
    env->log.score += reward > 0.0f ? 1.0f : 0.0f;
    env->log.episode_return += reward;
    env->log.episode_length += (float)env->steps;
    env->log.draws += (float)(reward == 0.0f);
    env->log.illegal += (float)env->illegal;
    env->log.margin += margin;
    env->log.captures += (float)env->captured;
    env->log.black += (float)(env->row0_color == GO_BLACK);
    env->log.n += 1.0f;
    go_new_game(env);
}

// Envs are stepped in array order, and with a thousand of them an env's state has left the nearer caches by its
// next step. So each step first asks for the next env's fields, groups and bitboards (the lines a step reads at
// random), to arrive while this one computes: 15% more steps per second (1,024 envs, 9x9). Asking for the
// observation rows too made it slower. A prefetch never faults: past the vector's last env the lines go unused.
static void go_prefetch_next(const Go* env) {
    const char* next = (const char*)(env + 1);
    size_t cells = (size_t)env->width * env->width * sizeof(GoCell);
    for (size_t at = 0; at < offsetof(Go, cell); at += 64) __builtin_prefetch(next + at);
    for (size_t at = 0; at < cells; at += 64) __builtin_prefetch(next + offsetof(Go, cell) + at);
    for (size_t at = offsetof(Go, empty_bits); at < offsetof(Go, order); at += 64) __builtin_prefetch(next + at);
}

void c_step(Go* env) {
    go_prefetch_next(env);
    go_ensure_groups(env);
    env->steps++;
    for (int row = 0; row <= env->opponent; row++) {
        env->rewards[row] = 0.0f;
        env->terminals[row] = 0;
        env->truncations[row] = 0;
    }
    int over;
    if (env->opponent) {
        int row = env->to_move == env->row0_color ? 0 : 1;
        over = go_turn(env, go_action_cell(env, env->actions[row]));
    } else {
        over = go_turn(env, go_action_cell(env, env->actions[0]));
        if (!over) over = go_turn(env, go_scripted_move(env));
    }
    if (over) go_finish(env);
    go_write(env);
}

void c_render(Go* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    const Color wood = {220, 179, 92};
    draw_clear(canvas, wood);
    int s = env->size, cell = FRAME_W / (s + 1), margin = (FRAME_W - cell * (s - 1)) / 2;
    for (int i = 0; i < s; i++) {
        int at = margin + i * cell;
        draw_line(canvas, margin, at, margin + (s - 1) * cell, at, COLOR_BLACK);
        draw_line(canvas, at, margin, at, margin + (s - 1) * cell, COLOR_BLACK);
    }
    for (int r = 0; r < s; r++) {
        for (int c = 0; c < s; c++) {
            int b = env->board[(r + 1) * env->width + c + 1];
            if (b != GO_BLACK && b != GO_WHITE) continue;
            draw_circle(canvas, margin + c * cell, margin + r * cell, cell / 2 - 1,
                        b == GO_BLACK ? COLOR_BLACK : COLOR_WHITE);
        }
    }
}

// Text picture: 'X' black, 'O' white, '.' empty, top row first; then whose move it is and row 0's colour.
int c_render_text(Go* env, char* buffer, int size) {
    int length = 0;
    for (int r = 1; r <= env->size; r++) {
        char line[GO_MAX_SIZE + 1];
        for (int c = 1; c <= env->size; c++) {
            int b = env->board[r * env->width + c];
            line[c - 1] = b == GO_BLACK ? 'X' : b == GO_WHITE ? 'O' : '.';
        }
        line[env->size] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "to move: %s, row 0: %s\n", env->to_move == GO_BLACK ? "X" : "O",
                env->row0_color == GO_BLACK ? "X" : "O");
    return length;
}

void c_close(Go* env) {
    free(env->history);
    env->history = NULL;
    env->history_stones = NULL;
}
