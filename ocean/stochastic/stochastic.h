// stochastic: the observation never changes, and an episode of `horizon` steps pays off when the fraction of
// action 0 taken is close to `p`. No deterministic policy can do that, so the policy must learn to randomize with
// probability p. The reward is dense: 1/horizon per step plus the change of the potential
// -|count0 - p * t| / (horizon * max(p, 1 - p)), so the episode return is 1 - |fraction - p| / max(p, 1 - p).
// Score: 1 if |fraction - p| <= tolerance.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(fraction) /* fraction of action 0 over the episode */
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: [1.0]
    float p;
    int horizon;
    float tolerance;
    int tick;
    int count0;       // times action 0 was taken this episode
    float potential;  // current value of the shaping potential
    float episode_return;
} Stochastic;

int c_init(Stochastic* env) { return 0; }

void c_reset(Stochastic* env) {
    env->observations[0] = 1.0f;
    env->tick = 0;
    env->count0 = 0;
    env->potential = 0;
    env->episode_return = 0;
}

void c_step(Stochastic* env) {
    env->tick++;
    env->count0 += env->actions[0] == 0;
    float scale = (float)env->horizon * (env->p > 0.5f ? env->p : 1.0f - env->p);
    float potential = -fabsf((float)env->count0 - env->p * (float)env->tick) / scale;
    float reward = 1.0f / (float)env->horizon + potential - env->potential;
    env->potential = potential;
    env->episode_return += reward;
    env->rewards[0] = reward;
    env->truncations[0] = 0;
    int done = env->tick >= env->horizon;
    env->terminals[0] = (unsigned char)done;
    if (done) {
        float fraction = (float)env->count0 / (float)env->horizon;
        env->log.score += (float)(fabsf(fraction - env->p) <= env->tolerance);
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->tick;
        env->log.fraction += fraction;
        env->log.n += 1;
        c_reset(env);
    }
}

void c_render(Stochastic* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int target = (int)(env->p * FRAME_W);
    draw_rect(canvas, 0, FRAME_H / 4, env->count0 * FRAME_W / env->horizon, FRAME_H / 4, COLOR_CYAN);
    draw_rect(canvas, 0, FRAME_H / 2, (env->tick - env->count0) * FRAME_W / env->horizon, FRAME_H / 4, COLOR_ORANGE);
    draw_rect(canvas, target, FRAME_H / 4 - 4, 2, FRAME_H / 2 + 8, COLOR_WHITE);
}

int c_render_text(Stochastic* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "step %d of %d: action 0 taken %d times (target fraction %.2f)\n", env->tick,
                env->horizon, env->count0, env->p);
    return length;
}

void c_close(Stochastic* env) {}
