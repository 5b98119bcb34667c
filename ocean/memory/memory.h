// memory: recall one bit after a delay. The first observation shows a random bit as +1/-1 in observation[0]; the
// observation `delay` steps later has observation[1] = 1, asking for the bit (delay 0: the first one asks at once).
// Only the action taken on that question counts: reward 1 if it equals the bit (1 for +1, 0 for -1), then the
// episode ends (delay + 1 steps). Needs a recurrent policy when delay > 0. Score: 1 if recalled correctly.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: [cue (+1/-1 on step 0, else 0), query (1 on the answer step, else 0)]
    int delay;
    int bit;
    int tick;  // steps taken this episode; the action of step delay + 1 is the answer
} Memory;

int c_init(Memory* env) { return 0; }

void c_reset(Memory* env) {
    env->bit = rng_int(&env->rng, 2);
    env->tick = 0;
    env->observations[0] = env->bit ? 1.0f : -1.0f;
    env->observations[1] = env->delay == 0 ? 1.0f : 0.0f;
}

void c_step(Memory* env) {
    env->tick++;
    int answering = env->tick > env->delay;
    env->truncations[0] = 0;
    if (!answering) {
        env->rewards[0] = 0;
        env->terminals[0] = 0;
        env->observations[0] = 0;
        env->observations[1] = env->tick == env->delay ? 1.0f : 0.0f;
        return;
    }
    float correct = (float)(env->actions[0] == env->bit);
    env->rewards[0] = correct;
    env->terminals[0] = 1;
    env->log.score += correct;
    env->log.episode_return += correct;
    env->log.episode_length += (float)env->tick;
    env->log.n += 1;
    c_reset(env);
}

void c_render(Memory* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int steps = env->delay + 1, width = FRAME_W / steps;
    for (int t = 0; t < steps; t++) {
        Color color = t == 0 ? (env->bit ? COLOR_GREEN : COLOR_RED) : t == steps - 1 ? COLOR_YELLOW : COLOR_GRAY;
        int height = t == env->tick ? FRAME_H / 2 : FRAME_H / 4;
        draw_rect(canvas, t * width + 1, (FRAME_H - height) / 2, width - 2 > 1 ? width - 2 : 1, height, color);
    }
}

int c_render_text(Memory* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "bit %d, step %d of %d\n", env->bit, env->tick, env->delay + 1);
    return length;
}

void c_close(Memory* env) {}
