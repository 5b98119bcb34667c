// English draughts (checkers) on the 32 dark squares of an 8x8 board. Black moves first. Men step one square
// diagonally forward; kings (crowned men) step one square in any diagonal direction. A capture jumps an adjacent
// enemy piece onto the empty square beyond it and removes that piece; captures are forced (when any capture is
// possible, only captures are legal), and after a capture the same piece must keep jumping while it can. A man
// reaching the far row is crowned and its move ends there, even if the new king could jump on. A player with no
// legal move (no pieces, or all blocked) loses. Draws: after `draw_moves` moves per side (2 * draw_moves turns in
// a row) with no capture and no man move (the 40-move rule with the default 40), or after `max_moves` turns when
// that is above 0. Rewards: +1 win, -1 loss, 0 draw, on the step the game ends.
//
// One agent step is one jump or one step. A multi-jump is a sequence of agent steps by the same side: after a
// capture that can continue, the same side moves again and its mask allows only the continuing jumps of that piece
// (obs plane 4 marks it). Actions are (square, direction) pairs in the mover's own frame: action = 4 * square + d,
// square 0..31 numbered row by row from the far row (the one its men crown on), left to right as the mover sees
// the board, d 0 forward-left, 1 forward-right, 2 back-left, 3 back-right. When a capture is possible the action
// means the jump in that direction, otherwise the one-square step. An illegal action (masked out) plays a uniformly
// random legal move instead (drawn from the env's RNG) and is counted in the `illegal` stat.
//
// Against the scripted opponent (opponent = 0) a coin flip decides the agent's colour each game. The scripted player
// takes the capture sequence that removes the most pieces; otherwise a random step after which the agent has no
// capture ("safe"), otherwise a random step; ties are broken at random from the env's RNG. With opponent = 1 (agent
// mode, ocean/README.md section 4b) rows 0 and 1 are the two sides (a coin flip gives row 0 black or white), one
// jump or step per call by the side to move, whose mask is 1; the waiting row's mask and action-mask row are 0.
//
// Bitboards: the 32 squares are bits of a uint64_t with a spare bit after every two rows (bit 9 * (s / 8) + s % 8
// for square s, top row first in black's frame), so the four diagonal neighbours are the constant shifts -5 (up-left),
// -4 (up-right), +4 (down-left), +5 (down-right) and a shift off the board lands on a spare bit or past the top,
// which the VALID mask drops. Turning the board half round (the other side's frame) maps bit b to 34 - b, square s
// to 31 - s, direction d to 3 - d and action a to 127 - a.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define CK_SQUARES 32
#define CK_ACTIONS 128
#define CK_OBS_SIZE (5 * CK_SQUARES + 3)
#define CK_VALID 0x7FBFDFEFFULL   // the 32 playable bits (all of bits 0-34 but 8, 17 and 26)
#define CK_BLACK 0
#define CK_WHITE 1
#define CK_CROWN_BLACK 0xFULL               // black crowns on the top row (squares 0-3)
#define CK_CROWN_WHITE (0xFULL << 31)       // white on the bottom row (squares 28-31)
#define CK_MAX_MOVES 48                     // 12 pieces x 4 directions
#define FRAME_W 320
#define FRAME_H 320

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(draws)      /* games drawn (draw rule or move cap) */ \
    X(illegal)    /* row 0's illegal actions (replaced by a random legal move) per game */ \
    X(captures)   /* enemy pieces row 0 captured per game */ \
    X(lost)       /* pieces row 0 lost per game */ \
    X(kings)      /* men row 0 crowned per game */ \
    X(moves)      /* turns (both sides) per game */ \
    X(black)      /* 1 when row 0 played black */
PUFFER_LOG(LOG_STATS)   // score: 1 for a win by row 0, 0 otherwise, so its mean is the win rate

typedef struct { uint64_t men[2], kings[2]; } CkBoard;   // bitboards per colour (CK_BLACK, CK_WHITE)

typedef struct {
    PUFFER_ENV_FIELDS
    unsigned char* masks;     // agent mode: 1 for the row to move (AGENT_MASKS in vecenv.h)
    int opponent;             // parameter: 0 scripted, 1 agent (a second agent row)
    int draw_moves;           // parameter: moves per side without a capture or man move that draw the game
    int max_moves;            // parameter: turns (both sides) before the game is drawn; 0: no cap
    // Game state (STATE in the binding)
    CkBoard board;            // men[colour] and kings[colour], absolute frame (black's)
    int to_move;              // CK_BLACK or CK_WHITE
    int row0_color;           // the colour row 0 (the scripted mode's agent) plays
    int jumper;               // bit of the piece that must keep jumping, -1 when a turn starts fresh
    int progress;             // this turn so far captured or moved a man
    int quiet;                // turns in a row without a capture or man move
    int turns, steps;         // turns completed and c_step calls this game
    int captured, lost, crowned, illegal;   // row 0's tallies this game
    // Scratch rewritten before it is read
    uint64_t from[4];         // legal moves of the side to move: pieces that may move in direction d
    int jumps;                // whether from[] holds captures
} Checkers;

static const int ck_offset[4] = {-5, -4, 4, 5};

static inline uint64_t ck_shift(uint64_t b, int d) {
    return (d == 0 ? b >> 5 : d == 1 ? b >> 4 : d == 2 ? b << 4 : b << 5) & CK_VALID;
}

static inline int ck_bit_of(int square) { return 9 * (square >> 3) + (square & 7); }
static inline int ck_square_of(int bit) { return 8 * (bit / 9) + bit % 9; }

// Whether direction d is forward for colour c's men (black moves up: 0, 1; white down: 2, 3).
static inline int ck_forward(int c, int d) { return c == CK_BLACK ? d < 2 : d >= 2; }

static inline uint64_t ck_empty(const CkBoard* b) {
    return ~(b->men[0] | b->men[1] | b->kings[0] | b->kings[1]) & CK_VALID;
}

// Pieces of colour c (restricted to `pieces`) that can capture in each direction; the count of such (piece, d).
static inline int ck_jumps(const CkBoard* b, int c, uint64_t pieces, uint64_t* from) {
    uint64_t empty = ck_empty(b), opp = b->men[1 - c] | b->kings[1 - c];
    int count = 0;
    for (int d = 0; d < 4; d++) {
        uint64_t movers = (b->kings[c] | (ck_forward(c, d) ? b->men[c] : 0)) & pieces;
        from[d] = movers & ck_shift(ck_shift(empty, 3 - d) & opp, 3 - d);
        count += __builtin_popcountll(from[d]);
    }
    return count;
}

static inline int ck_steps(const CkBoard* b, int c, uint64_t* from) {
    uint64_t empty = ck_empty(b);
    int count = 0;
    for (int d = 0; d < 4; d++) {
        uint64_t movers = b->kings[c] | (ck_forward(c, d) ? b->men[c] : 0);
        from[d] = movers & ck_shift(empty, 3 - d);
        count += __builtin_popcountll(from[d]);
    }
    return count;
}

// The legal moves of colour c: the continuing jumps of `jumper` (a bit, or -1), else all captures, else all steps.
// Returns the count; *jumps tells captures from steps.
static int ck_legal(const CkBoard* b, int c, int jumper, uint64_t* from, int* jumps) {
    *jumps = 1;
    if (jumper >= 0) return ck_jumps(b, c, 1ULL << jumper, from);
    int count = ck_jumps(b, c, ~0ULL, from);
    if (count) return count;
    *jumps = 0;
    return ck_steps(b, c, from);
}

// Plays one jump or step of colour c from bit `at` in direction d. Returns the landing bit; sets *took (a capture),
// *man (the piece was a man) and *crowned.
static int ck_apply(CkBoard* b, int c, int at, int d, int jump, int* took, int* man, int* crowned) {
    int to = at + ck_offset[d] * (1 + jump);
    uint64_t src = 1ULL << at, dst = 1ULL << to;
    *man = (b->men[c] & src) != 0;
    *took = jump;
    if (jump) {
        uint64_t over = ~(1ULL << (at + ck_offset[d]));
        b->men[1 - c] &= over;
        b->kings[1 - c] &= over;
    }
    uint64_t crown = c == CK_BLACK ? CK_CROWN_BLACK : CK_CROWN_WHITE;
    *crowned = *man && (dst & crown);
    if (*man && !*crowned) {
        b->men[c] ^= src | dst;
    } else {
        b->men[c] &= ~src;
        b->kings[c] = (b->kings[c] & ~src) | dst;
    }
    return to;
}

// The most captures the piece on bit `at` (colour c) can still make in this turn (a search over continuations).
static int ck_chain(const CkBoard* b, int c, int at) {
    uint64_t from[4];
    if (!ck_jumps(b, c, 1ULL << at, from)) return 0;
    int best = 0;
    for (int d = 0; d < 4; d++) {
        if (!from[d]) continue;
        CkBoard next = *b;
        int took, man, crowned;
        int to = ck_apply(&next, c, at, d, 1, &took, &man, &crowned);
        int length = 1 + (crowned ? 0 : ck_chain(&next, c, to));
        if (length > best) best = length;
    }
    return best;
}

static inline CkBoard* ck_board(Checkers* env) {
    return &env->board;
}

// Picks the k-th (0-based) legal move of from[] as (bit, direction).
static void ck_nth_move(const uint64_t* from, int k, int* at, int* d) {
    for (int dir = 0; dir < 4; dir++) {
        int count = __builtin_popcountll(from[dir]);
        if (k < count) {
            uint64_t bits = from[dir];
            for (int i = 0; i < k; i++) bits &= bits - 1;
            *at = __builtin_ctzll(bits);
            *d = dir;
            return;
        }
        k -= count;
    }
    *at = -1;
    *d = 0;
}

// The scripted player's choice among the legal moves in env->from (count of them): see the top of the file.
static void ck_scripted_move(Checkers* env, int count, int* at, int* dir) {
    const CkBoard* board = ck_board(env);
    int c = env->to_move, best = -1, ties = 0;
    for (int d = 0; d < 4; d++) {
        for (uint64_t bits = env->from[d]; bits; bits &= bits - 1) {
            int bit = __builtin_ctzll(bits), value;
            CkBoard next = *board;
            int took, man, crowned;
            int to = ck_apply(&next, c, bit, d, env->jumps, &took, &man, &crowned);
            if (env->jumps) {
                value = 1 + (crowned ? 0 : ck_chain(&next, c, to));
            } else {
                uint64_t reply[4];
                value = ck_jumps(&next, 1 - c, ~0ULL, reply) == 0;
            }
            if (value > best) {
                best = value;
                ties = 0;
            }
            if (value == best && rng_int(&env->rng, ++ties) == 0) {   // a uniform pick among the best so far
                *at = bit;
                *dir = d;
            }
        }
    }
    (void)count;
}

// The row's observation and action-mask row, from its own side (colour c); `mover`: this row is to move.
static void ck_write_row(Checkers* env, int row, int c, int mover) {
    float* obs = env->observations + (size_t)row * CK_OBS_SIZE;
    int flip = c == CK_WHITE;   // white sees the board half turned
    uint64_t own_men = env->board.men[c], own_kings = env->board.kings[c], opp_men = env->board.men[1 - c];
    uint64_t opp_kings = env->board.kings[1 - c];
    uint64_t jumper = env->jumper >= 0 ? 1ULL << env->jumper : 0;
    for (int s = 0; s < CK_SQUARES; s++) {
        int bit = ck_bit_of(flip ? 31 - s : s);
        obs[s] = (float)((own_men >> bit) & 1);
        obs[CK_SQUARES + s] = (float)((own_kings >> bit) & 1);
        obs[2 * CK_SQUARES + s] = (float)((opp_men >> bit) & 1);
        obs[3 * CK_SQUARES + s] = (float)((opp_kings >> bit) & 1);
        obs[4 * CK_SQUARES + s] = (float)((jumper >> bit) & 1);
    }
    obs[5 * CK_SQUARES] = (float)env->quiet / (float)(2 * env->draw_moves);
    obs[5 * CK_SQUARES + 1] = (float)mover;
    obs[5 * CK_SQUARES + 2] = (float)(c == CK_BLACK);
    if (env->action_mask == NULL) return;
    unsigned char* mask = env->action_mask + (size_t)row * CK_ACTIONS;
    memset(mask, 0, CK_ACTIONS);
    if (!mover) return;
    for (int d = 0; d < 4; d++) {
        for (uint64_t bits = env->from[d]; bits; bits &= bits - 1) {
            int action = 4 * ck_square_of(__builtin_ctzll(bits)) + d;
            mask[flip ? CK_ACTIONS - 1 - action : action] = 1;
        }
    }
}

// Writes every row (env->from must hold the side to move's legal moves).
static void ck_write(Checkers* env) {
    if (env->opponent) {
        int row0_moves = env->to_move == env->row0_color;
        ck_write_row(env, 0, env->row0_color, row0_moves);
        ck_write_row(env, 1, 1 - env->row0_color, !row0_moves);
        env->masks[0] = (unsigned char)row0_moves;
        env->masks[1] = (unsigned char)!row0_moves;
    } else {
        ck_write_row(env, 0, env->row0_color, 1);
    }
}

static inline int ck_gen(Checkers* env) {
    return ck_legal(ck_board(env), env->to_move, env->jumper, env->from, &env->jumps);
}

// Plays one jump or step of the side to move. Returns 1 when the turn is over (then the other side is to move).
static int ck_play(Checkers* env, int at, int d) {
    int c = env->to_move, took, man, crowned;
    int to = ck_apply(ck_board(env), c, at, d, env->jumps, &took, &man, &crowned);
    if (c == env->row0_color) {
        env->captured += took;
        env->crowned += crowned;
    } else {
        env->lost += took;
    }
    env->progress |= took | man;
    uint64_t more[4];
    if (took && !crowned && ck_jumps(ck_board(env), c, 1ULL << to, more)) {
        env->jumper = to;
        return 0;
    }
    env->jumper = -1;
    env->quiet = env->progress ? 0 : env->quiet + 1;
    env->progress = 0;
    env->turns++;
    env->to_move = 1 - c;
    return 1;
}

// After a turn: the result for the side now to move (-1 lost: no legal move; 0 drawn; 2 the game goes on).
// Leaves its legal moves in env->from.
static int ck_after_turn(Checkers* env) {
    if (ck_gen(env) == 0) return -1;
    if (env->quiet >= 2 * env->draw_moves || (env->max_moves > 0 && env->turns >= env->max_moves)) return 0;
    return 2;
}

// Plays the scripted side's whole turn (every jump of a multi-jump). Returns ck_after_turn's result for the agent.
static int ck_scripted_turn(Checkers* env) {
    int at = -1, d = 0;
    do {
        int count = ck_gen(env);
        ck_scripted_move(env, count, &at, &d);
    } while (!ck_play(env, at, d));
    return ck_after_turn(env);
}

static void ck_new_game(Checkers* env) {
    env->board.men[CK_BLACK] = 0;
    env->board.men[CK_WHITE] = 0;
    for (int s = 0; s < 12; s++) {
        env->board.men[CK_WHITE] |= 1ULL << ck_bit_of(s);
        env->board.men[CK_BLACK] |= 1ULL << ck_bit_of(31 - s);
    }
    env->board.kings[0] = env->board.kings[1] = 0;
    env->to_move = CK_BLACK;
    env->row0_color = rng_int(&env->rng, 2) ? CK_WHITE : CK_BLACK;
    env->jumper = -1;
    env->progress = env->quiet = env->turns = env->steps = 0;
    env->captured = env->lost = env->crowned = env->illegal = 0;
    if (!env->opponent && env->row0_color == CK_WHITE) ck_scripted_turn(env);
    ck_gen(env);
}

int c_init(Checkers* env) {
    if (!env->opponent) env->masks[0] = 1;
    return 0;
}

void c_reset(Checkers* env) {
    ck_new_game(env);
    ck_write(env);
}  // the binding has already cleared rewards, terminals and truncations (vec_reset)

// Pays both rows from the side to move's result (-1, 0, or +1 never: the mover cannot win by the other's move),
// logs the game (row 0's view) and starts the next one.
static void ck_finish(Checkers* env, int mover_result) {
    float mover_reward = (float)mover_result;
    float reward = env->to_move == env->row0_color ? mover_reward : 0.0f - mover_reward;
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
    env->log.captures += (float)env->captured;
    env->log.lost += (float)env->lost;
    env->log.kings += (float)env->crowned;
    env->log.moves += (float)env->turns;
    env->log.black += (float)(env->row0_color == CK_BLACK);
    env->log.n += 1.0f;
    ck_new_game(env);
}

// The mover's action as (bit, direction) in the absolute frame; an illegal one becomes a random legal move.
static void ck_decode(Checkers* env, int action, int count, int* at, int* d) {
    if (env->to_move == CK_WHITE) action = CK_ACTIONS - 1 - action;
    int dir = action & 3, bit = ck_bit_of(action >> 2);
    if ((env->from[dir] >> bit) & 1) {
        *at = bit;
        *d = dir;
        return;
    }
    if (env->to_move == env->row0_color) env->illegal++;
    ck_nth_move(env->from, rng_int(&env->rng, count), at, d);
}

void c_step(Checkers* env) {
    env->steps++;
    for (int row = 0; row <= env->opponent; row++) {
        env->rewards[row] = 0.0f;
        env->terminals[row] = 0;
        env->truncations[row] = 0;
    }
    int count = ck_gen(env), result = 2;
    if (count == 0) {   // only a loaded state can leave the mover without a move: it loses
        ck_finish(env, -1);
        ck_write(env);
        return;
    }
    int row = env->opponent && env->to_move != env->row0_color ? 1 : 0, at, d;
    ck_decode(env, env->actions[row], count, &at, &d);
    if (ck_play(env, at, d)) {
        result = ck_after_turn(env);
        if (result == 2 && !env->opponent) result = ck_scripted_turn(env);
    } else {
        ck_gen(env);
    }
    if (result != 2) ck_finish(env, result);
    ck_write(env);
}

void c_render(Checkers* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    const Color light = {232, 208, 160}, dark = {120, 78, 46}, black = {30, 30, 30}, white = {245, 245, 235};
    const int cell = FRAME_W / 8;
    draw_clear(canvas, light);
    for (int s = 0; s < CK_SQUARES; s++) {
        int r = s >> 2, col = 2 * (s & 3) + !(r & 1), x = col * cell, y = r * cell, bit = ck_bit_of(s);
        draw_rect(canvas, x, y, cell, cell, dark);
        if (bit == env->jumper) draw_rect(canvas, x + 2, y + 2, cell - 4, cell - 4, COLOR_RED);
        for (int c = 0; c < 2; c++) {
            uint64_t m = 1ULL << bit;
            if (!((env->board.men[c] | env->board.kings[c]) & m)) continue;
            draw_circle(canvas, x + cell / 2, y + cell / 2, cell / 2 - 4, c == CK_BLACK ? black : white);
            if (env->board.kings[c] & m) draw_circle(canvas, x + cell / 2, y + cell / 2, cell / 5, COLOR_YELLOW);
        }
    }
}

// Text picture in black's frame, top row first: 'b'/'B' black man/king, 'w'/'W' white man/king, '.' an empty dark
// square, '-' a light square; then the side to move, row 0's colour and the jumping piece's square (or -).
int c_render_text(Checkers* env, char* buffer, int size) {
    int length = 0;
    for (int r = 0; r < 8; r++) {
        char line[9];
        for (int col = 0; col < 8; col++) {
            line[col] = '-';
            if (((r + col) & 1) == 0) continue;
            uint64_t m = 1ULL << ck_bit_of(4 * r + col / 2);
            const CkBoard* b = &env->board;
            line[col] = (b->men[CK_BLACK] & m) ? 'b' : (b->kings[CK_BLACK] & m) ? 'B' : (b->men[CK_WHITE] & m) ? 'w'
                      : (b->kings[CK_WHITE] & m) ? 'W' : '.';
        }
        line[8] = '\0';
        text_append(buffer, size, &length, "%s\n", line);
    }
    text_append(buffer, size, &length, "to move: %s, row 0: %s, jumping: ", env->to_move == CK_BLACK ? "b" : "w",
                env->row0_color == CK_BLACK ? "b" : "w");
    if (env->jumper >= 0) text_append(buffer, size, &length, "%d\n", ck_square_of(env->jumper));
    else text_append(buffer, size, &length, "-\n");
    return length;
}

void c_close(Checkers* env) {
    (void)env;
}
