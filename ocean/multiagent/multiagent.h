// multiagent: two agents in each env see their own id (one-hot) and both earn 1 on every step where their actions
// differ. With one shared policy they must use the id to break the symmetry. Episodes last `horizon` steps.
// Score: the fraction of steps on which the two agents acted differently.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: 2 agents x [is agent 0, is agent 1]
    // actions: 2 agents
    int horizon;
    int tick;
    int differed;  // steps with different actions this episode
    int last_actions[2];
} Multiagent;

int c_init(Multiagent* env) { return 0; }

void c_reset(Multiagent* env) {
    static const float ids[4] = {1, 0, 0, 1};
    memcpy(env->observations, ids, sizeof ids);
    env->tick = 0;
    env->differed = 0;
    env->last_actions[0] = env->last_actions[1] = -1;
}

void c_step(Multiagent* env) {
    int differ = env->actions[0] != env->actions[1];
    env->last_actions[0] = env->actions[0];
    env->last_actions[1] = env->actions[1];
    env->tick++;
    env->differed += differ;
    int done = env->tick >= env->horizon;
    for (int agent = 0; agent < 2; agent++) {
        env->rewards[agent] = (float)differ;
        env->terminals[agent] = (unsigned char)done;
        env->truncations[agent] = 0;
    }
    if (done) {
        env->log.score += (float)env->differed / (float)env->horizon;
        env->log.episode_return += (float)env->differed;
        env->log.episode_length += (float)env->tick;
        env->log.n += 1;
        int first = env->last_actions[0], second = env->last_actions[1];
        c_reset(env);
        env->last_actions[0] = first;  // keep the last move visible in renders
        env->last_actions[1] = second;
    }
}

void c_render(Multiagent* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    for (int agent = 0; agent < 2; agent++) {
        int action = env->last_actions[agent];
        Color color = action < 0 ? COLOR_GRAY : action == 0 ? COLOR_BLUE : COLOR_ORANGE;
        draw_circle(canvas, FRAME_W / 4 + agent * FRAME_W / 2, FRAME_H / 2, FRAME_W / 6, color);
    }
}

int c_render_text(Multiagent* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "agent 0: %d  agent 1: %d  (step %d of %d, %d differed)\n",
                env->last_actions[0], env->last_actions[1], env->tick, env->horizon, env->differed);
    return length;
}

void c_close(Multiagent* env) {}
