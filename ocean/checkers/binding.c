#include "checkers.h"
#define Env Checkers
#define ENV_NAME checkers
#define DESCRIPTION "English draughts (forced captures, multi-jumps, kings, 40-move draw) vs a capture-first player"
// opponent: 0 the scripted player, 1 a second agent row (ocean/README.md, "Two-player games"); draw_moves: moves per
// side without a capture or man move that draw; max_moves: turns before a draw, 0 none
#define PARAMS(INT, FLOAT) INT(opponent, 0, 0, 1) INT(draw_moves, 40, 1, 1000) INT(max_moves, 0, 0, 100000)
#define NUM_AGENTS 1
#define AGENTS(env) (1 + (env)->opponent)
#define AGENT_MASKS
#define OBS_SIZE(env) CK_OBS_SIZE
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) CK_ACTIONS   // 4 * square + direction, in the mover's frame (checkers.h)
#define ACTION_MASK 1              // captures are forced; a multi-jump continues with the same piece
#define MY_METHODS(X) X(set_board)
// Saved and checked by snapshot()/restore(); ck_check_state: the pieces and the jumping piece.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->board.men, 0, 0) FIELD((env)->board.kings, 0, 0) FIELD((env)->to_move, CK_BLACK, CK_WHITE) \
    FIELD((env)->row0_color, CK_BLACK, CK_WHITE) FIELD((env)->jumper, -1, 34) FIELD((env)->progress, 0, 1) \
    FIELD((env)->quiet, 0, 2 * (env)->draw_moves - 1) \
    FIELD((env)->turns, 0, (env)->max_moves > 0 ? (env)->max_moves - 1 : 1000000000) \
    FIELD((env)->steps, 0, 2000000000) FIELD((env)->captured, 0, 12) FIELD((env)->lost, 0, 12) \
    FIELD((env)->crowned, 0, 12) FIELD((env)->illegal, 0, 2000000000)
#define STATE_CHECK ck_check_state
#include "vecenv.h"

// Pieces on playable squares only, one per square, no man on the row it crowns on; a jumping piece belongs to the
// side to move and can still capture.
static int ck_check_state(const Env* env, char* error, int size) {
    const CkBoard* b = &env->board;
    uint64_t all = 0;
    int overlap = 0;
    for (int c = 0; c < 2; c++) {
        overlap |= (all & b->men[c]) != 0;
        all |= b->men[c];
        overlap |= (all & b->kings[c]) != 0;
        all |= b->kings[c];
    }
    if (overlap || (all & ~CK_VALID)) {
        snprintf(error, size, "pieces overlap or lie off the 32 playable squares");
        return -1;
    }
    if ((b->men[CK_BLACK] & CK_CROWN_BLACK) || (b->men[CK_WHITE] & CK_CROWN_WHITE)) {
        snprintf(error, size, "a man stands on the row it would have been crowned on");
        return -1;
    }
    if (env->jumper >= 0) {
        uint64_t from[4];
        int c = env->to_move;
        uint64_t own = (b->men[c] | b->kings[c]) & CK_VALID;
        if (!((own >> env->jumper) & 1) || !ck_jumps(b, c, 1ULL << env->jumper, from)) {
            snprintf(error, size, "jumper = %d is not a piece of the side to move that can capture", env->jumper);
            return -1;
        }
    }
    return 0;
}

#ifndef PUFFER_NO_PYTHON
// set_board(index, rows, to_move): load a position, 64 characters (8 rows, top row first in black's frame, black's
// men moving up) as render_text draws them: 'b'/'B' black man/king, 'w'/'W' white man/king, '.' or '-' empty;
// pieces only on the dark squares ((row + column) odd). to_move 'b' or 'w'. The game restarts from it (draw counter
// and turn count 0); against the scripted opponent the agent plays the side to move.
static PyObject* set_board(PyObject* self, PyObject* args) {
    Py_ssize_t index;
    const char* rows;
    const char* mover;
    if (!PyArg_ParseTuple(args, "nss", &index, &rows, &mover)) return NULL;
    Env* env = vector_env(self, index);
    if (env == NULL) return NULL;
    if (strlen(rows) != 64 || (strcmp(mover, "b") != 0 && strcmp(mover, "w") != 0)) {
        PyErr_SetString(PyExc_ValueError, "set_board: rows must be 64 characters of 'bBwW.-' and to_move 'b' or 'w'");
        return NULL;
    }
    CkBoard board = {{0, 0}, {0, 0}};
    for (int k = 0; k < 64; k++) {
        char ch = rows[k];
        int r = k / 8, col = k % 8;
        if (ch == '.' || ch == '-') continue;
        if (ch != 'b' && ch != 'B' && ch != 'w' && ch != 'W') {
            PyErr_Format(PyExc_ValueError, "set_board: character %d is '%c', not one of 'bBwW.-'", k, ch);
            return NULL;
        }
        if (((r + col) & 1) == 0) {
            PyErr_Format(PyExc_ValueError, "set_board: character %d ('%c') is on a light square", k, ch);
            return NULL;
        }
        uint64_t m = 1ULL << ck_bit_of(4 * r + col / 2);
        int c = ch == 'b' || ch == 'B' ? CK_BLACK : CK_WHITE;
        if (ch == 'B' || ch == 'W') board.kings[c] |= m;
        else board.men[c] |= m;
    }
    if ((board.men[CK_BLACK] & CK_CROWN_BLACK) || (board.men[CK_WHITE] & CK_CROWN_WHITE)) {
        PyErr_SetString(PyExc_ValueError, "set_board: a man stands on the row it crowns on (write a king)");
        return NULL;
    }
    ck_new_game(env);
    env->board = board;
    env->to_move = mover[0] == 'b' ? CK_BLACK : CK_WHITE;
    if (!env->opponent) env->row0_color = env->to_move;
    env->jumper = -1;
    env->progress = env->quiet = env->turns = env->steps = 0;
    ck_gen(env);
    ck_write(env);
    Py_RETURN_NONE;
}
#endif
