// squared: walk to a target on a square grid. The agent starts in the centre; the target sits on a random cell of
// the border. The observation is two one-hot planes (agent, target), so the way to go is a linear function of it:
// isolates navigation and credit assignment over a short horizon. Score: 1 if the target is reached in time.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: agent plane then target plane, size * size cells each, 1 where it is
    int size;       // grid side; the agent starts at cell (size / 2, size / 2)
    int max_steps;  // truncation limit
    int agent_row, agent_col, target_row, target_col, tick;
    float episode_return;
} Squared;

int c_init(Squared* env) { return 0; }

static void squared_observe(Squared* env) {
    int cells = env->size * env->size;
    memset(env->observations, 0, 2 * (size_t)cells);
    env->observations[env->agent_row * env->size + env->agent_col] = 1;
    env->observations[cells + env->target_row * env->size + env->target_col] = 1;
}

void c_reset(Squared* env) {
    int last = env->size - 1;
    env->agent_row = env->agent_col = env->size / 2;
    // Pick one of the 4 * last border cells uniformly: walk the border clockwise from the top-left corner.
    int cell = rng_int(&env->rng, 4 * last);
    int side = cell / last, offset = cell % last;
    int rows[4] = {0, offset, last, last - offset};
    int cols[4] = {offset, last, last - offset, 0};
    env->target_row = rows[side];
    env->target_col = cols[side];
    env->tick = 0;
    env->episode_return = 0;
    squared_observe(env);
}

void c_step(Squared* env) {
    // Actions: 0 stay, 1 up, 2 down, 3 left, 4 right.
    static const int row_move[5] = {0, -1, 1, 0, 0};
    static const int col_move[5] = {0, 0, 0, -1, 1};
    int action = env->actions[0];
    int last = env->size - 1;
    int row = env->agent_row + row_move[action], col = env->agent_col + col_move[action];
    env->agent_row = row < 0 ? 0 : row > last ? last : row;
    env->agent_col = col < 0 ? 0 : col > last ? last : col;
    env->tick++;

    int reached = env->agent_row == env->target_row && env->agent_col == env->target_col;
    int timed_out = !reached && env->tick >= env->max_steps;
    env->rewards[0] = (float)reached;
    env->terminals[0] = (unsigned char)reached;
    env->truncations[0] = (unsigned char)timed_out;
    env->episode_return += env->rewards[0];
    if (reached || timed_out) {
        env->log.score += (float)reached;
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->tick;
        env->log.n += 1;
        c_reset(env);
        return;
    }
    squared_observe(env);
}

void c_render(Squared* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int cell = FRAME_W / env->size;
    for (int r = 0; r < env->size; r++)
        for (int c = 0; c < env->size; c++)
            draw_rect(canvas, c * cell + 1, r * cell + 1, cell - 2, cell - 2, (Color){20, 50, 50});
    draw_rect(canvas, env->target_col * cell + 1, env->target_row * cell + 1, cell - 2, cell - 2, COLOR_GREEN);
    draw_circle(canvas, env->agent_col * cell + cell / 2, env->agent_row * cell + cell / 2, cell / 3, COLOR_CYAN);
}

int c_render_text(Squared* env, char* buffer, int size) {
    int length = 0;
    for (int r = 0; r < env->size; r++) {
        for (int c = 0; c < env->size; c++) {
            int is_agent = r == env->agent_row && c == env->agent_col;
            int is_target = r == env->target_row && c == env->target_col;
            text_append(buffer, size, &length, "%c", is_agent ? 'A' : is_target ? 'T' : '.');
        }
        text_append(buffer, size, &length, "\n");
    }
    text_append(buffer, size, &length, "step %d/%d\n", env->tick, env->max_steps);
    return length;
}

void c_close(Squared* env) {}
