// bandit: one step per episode, a choice of num_arms arms. Arm best_arm pays 1 with probability best_prob, every
// other arm with other_prob. The observation never changes, so only the reward tells the arms apart. Isolates
// learning from noisy rewards. Score: 1 if the best arm was pulled.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: [1.0]
    int num_arms;
    int best_arm;
    float best_prob;
    float other_prob;
    int last_arm;  // for rendering; -1 before the first pull
    float last_reward;
} Bandit;

int c_init(Bandit* env) { return 0; }

void c_reset(Bandit* env) {
    env->observations[0] = 1.0f;
    env->last_arm = -1;
    env->last_reward = 0;
}

void c_step(Bandit* env) {
    int arm = env->actions[0];
    int best = arm == env->best_arm;
    float reward = (float)(rng_float(&env->rng) < (best ? env->best_prob : env->other_prob));
    env->rewards[0] = reward;
    env->terminals[0] = 1;
    env->truncations[0] = 0;
    env->log.score += (float)best;
    env->log.episode_return += reward;
    env->log.episode_length += 1;
    env->log.n += 1;
    env->last_arm = arm;
    env->last_reward = reward;
}

void c_render(Bandit* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int width = FRAME_W / env->num_arms;
    for (int arm = 0; arm < env->num_arms; arm++) {
        Color color = arm != env->last_arm ? COLOR_GRAY : env->last_reward > 0 ? COLOR_GREEN : COLOR_RED;
        draw_rect(canvas, arm * width + 1, FRAME_H / 4, width - 2, FRAME_H / 2, color);
    }
}

int c_render_text(Bandit* env, char* buffer, int size) {
    int length = 0;
    for (int arm = 0; arm < env->num_arms; arm++)
        text_append(buffer, size, &length, arm == env->last_arm ? "[%d]" : " %d ", arm);
    text_append(buffer, size, &length, "\nlast reward %.0f\n", env->last_reward);
    return length;
}

void c_close(Bandit* env) {}
