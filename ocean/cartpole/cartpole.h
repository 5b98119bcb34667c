// cartpole: balance a pole on a cart. Dynamics, constants, Euler integration, termination thresholds and the reward
// (1 on every step, the terminating one included) are those of Gymnasium's CartPole-v1, in double precision; the
// 500-step limit ends an episode as a truncation. `continuous` = 1 takes a force in [-1, 1] x force_mag instead of
// the two discrete pushes. Score: steps balanced (the episode return, 500 at most).
#include "puffer.h"

#define FRAME_W 300
#define FRAME_H 200

#define CARTPOLE_GRAVITY 9.8
#define CARTPOLE_MASSCART 1.0
#define CARTPOLE_MASSPOLE 0.1
#define CARTPOLE_TOTAL_MASS (CARTPOLE_MASSPOLE + CARTPOLE_MASSCART)
#define CARTPOLE_LENGTH 0.5  // half the pole's length
#define CARTPOLE_POLEMASS_LENGTH (CARTPOLE_MASSPOLE * CARTPOLE_LENGTH)
#define CARTPOLE_FORCE_MAG 10.0
#define CARTPOLE_TAU 0.02
#define CARTPOLE_THETA_THRESHOLD (12 * 2 * M_PI / 360)
#define CARTPOLE_X_THRESHOLD 2.4

#define OBS_TYPE float
#define ACT_TYPE float  // the discrete registry entry hands int32 actions; the binding converts them
#define LOG_STATS(X) \
    X(truncated) /* fraction of episodes that reached the step limit */
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: [x, x_dot, theta, theta_dot]
    // actions: discrete: 0 (push left) or 1 (push right); continuous: force / force_mag in [-1, 1]
    int continuous;
    int max_steps;
    double action_scale, action_offset;  // force / force_mag = action * scale + offset
    double x, x_dot, theta, theta_dot;
    int tick;
} CartPole;

int c_init(CartPole* env) {
    env->action_scale = env->continuous ? 1.0 : 2.0;
    env->action_offset = env->continuous ? 0.0 : -1.0;
    return 0;
}

static inline void cartpole_observe(CartPole* env) {
    env->observations[0] = (float)env->x;
    env->observations[1] = (float)env->x_dot;
    env->observations[2] = (float)env->theta;
    env->observations[3] = (float)env->theta_dot;
}

void c_reset(CartPole* env) {
    env->x = -0.05 + 0.1 * rng_double(&env->rng);
    env->x_dot = -0.05 + 0.1 * rng_double(&env->rng);
    env->theta = -0.05 + 0.1 * rng_double(&env->rng);
    env->theta_dot = -0.05 + 0.1 * rng_double(&env->rng);
    env->tick = 0;
    cartpole_observe(env);
}

// sin and cos of theta. At the start of a step the pole angle is within the termination threshold (0.21 rad), where
// Taylor series to the 11th/12th power are exact to double rounding (next terms < 1e-17) and several times faster than
// libm; Estrin's scheme evaluates them with short dependency chains. Other angles (set by hand) use libm.
static inline void cartpole_sincos(double theta, double* sine, double* cosine) {
    if (fabs(theta) > 0.25) {
        *sine = sin(theta);
        *cosine = cos(theta);
        return;
    }
    double t2 = theta * theta, t4 = t2 * t2, t8 = t4 * t4;
    *sine = theta * ((1 - t2 * (1.0 / 6)) + t4 * (1.0 / 120 - t2 * (1.0 / 5040))
                     + t8 * (1.0 / 362880 - t2 * (1.0 / 39916800)));
    *cosine = (1 - t2 * 0.5) + t4 * (1.0 / 24 - t2 * (1.0 / 720))
              + t8 * ((1.0 / 40320 - t2 * (1.0 / 3628800)) + t4 * (1.0 / 479001600));
}

void c_step(CartPole* env) {
    // Discrete actions arrive as exactly 0.0 or 1.0 and map to -1 or +1 x force_mag; continuous ones are used as
    // they are. Arithmetic rather than a branch: random actions would mispredict it half the time.
    double force = ((double)env->actions[0] * env->action_scale + env->action_offset) * CARTPOLE_FORCE_MAG;
    double sintheta, costheta;
    cartpole_sincos(env->theta, &sintheta, &costheta);

    // Gymnasium's CartPoleEnv.step, with its divisions by the total mass done as multiplications (1 ulp apart).
    const double inverse_mass = 1.0 / CARTPOLE_TOTAL_MASS;
    double temp = (force + CARTPOLE_POLEMASS_LENGTH * (env->theta_dot * env->theta_dot) * sintheta) * inverse_mass;
    double thetaacc = (CARTPOLE_GRAVITY * sintheta - costheta * temp)
                      / (CARTPOLE_LENGTH * (4.0 / 3.0 - CARTPOLE_MASSPOLE * inverse_mass * (costheta * costheta)));
    double xacc = temp - CARTPOLE_POLEMASS_LENGTH * inverse_mass * thetaacc * costheta;
    env->x = env->x + CARTPOLE_TAU * env->x_dot;
    env->x_dot = env->x_dot + CARTPOLE_TAU * xacc;
    env->theta = env->theta + CARTPOLE_TAU * env->theta_dot;
    env->theta_dot = env->theta_dot + CARTPOLE_TAU * thetaacc;
    env->tick++;

    int terminated = env->x < -CARTPOLE_X_THRESHOLD || env->x > CARTPOLE_X_THRESHOLD
                     || env->theta < -CARTPOLE_THETA_THRESHOLD || env->theta > CARTPOLE_THETA_THRESHOLD;
    int truncated = env->tick >= env->max_steps;
    env->rewards[0] = 1.0f;
    env->terminals[0] = (unsigned char)terminated;
    env->truncations[0] = (unsigned char)truncated;
    if (terminated | truncated) {
        env->log.score += (float)env->tick;
        env->log.episode_return += (float)env->tick;
        env->log.episode_length += (float)env->tick;
        env->log.truncated += (float)truncated;
        env->log.n += 1;
        c_reset(env);
        return;
    }
    cartpole_observe(env);
}

void c_render(CartPole* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    double scale = FRAME_W / (2 * CARTPOLE_X_THRESHOLD);  // pixels per metre
    int track = FRAME_H * 3 / 4;
    int cart_x = (int)(FRAME_W / 2 + env->x * scale);
    draw_rect(canvas, 0, track, FRAME_W, 1, COLOR_GRAY);
    draw_rect(canvas, cart_x - 20, track - 10, 40, 20, COLOR_CYAN);
    double pole = 2 * CARTPOLE_LENGTH * scale;
    int tip_x = cart_x + (int)(pole * sin(env->theta)), tip_y = track - 10 - (int)(pole * cos(env->theta));
    for (int offset = -2; offset <= 2; offset++)
        draw_line(canvas, cart_x + offset, track - 10, tip_x + offset, tip_y, COLOR_ORANGE);
    char step[16];
    snprintf(step, sizeof step, "%d", env->tick);
    draw_text(canvas, 4, 4, step, 2, COLOR_WHITE);
}

int c_render_text(CartPole* env, char* buffer, int size) {
    int length = 0;
    int cart = (int)((env->x + CARTPOLE_X_THRESHOLD) / (2 * CARTPOLE_X_THRESHOLD) * 40);
    for (int column = 0; column <= 40; column++) text_append(buffer, size, &length, column == cart ? "#" : "-");
    text_append(buffer, size, &length, "\nx %+.3f  x_dot %+.3f  theta %+.3f  theta_dot %+.3f  step %d\n", env->x,
                env->x_dot, env->theta, env->theta_dot, env->tick);
    return length;
}

void c_close(CartPole* env) {}
