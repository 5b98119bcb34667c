// Swarm: SWARM_AGENTS agents share one walled grid arena, foraging while predators hunt them. The first
// `num_predators` agent rows are predators, the rest prey; one policy can play both (the role is in the
// observation). Every agent row is one agent, so one C env steps hundreds of agents at Ocean speed.
//
// Rules: each step the agents move one cell (or stay) one after another, in agent order starting from an offset
// that rotates every step (so no agent always moves first). A cell holds at most one agent. Prey step onto food to
// eat it (`reward_food`); the food reappears on a random free cell. A predator that steps onto a prey catches it:
// the predator earns `reward_catch`, the prey gets `reward_caught` and its episode ends (terminal); it reappears on
// a random free cell as a new prey. Predators walk over food without eating it. Any other move into an occupied
// cell or a wall leaves the agent where it was. Every life is truncated after `max_steps` steps.
//
// The arena grid is the spatial index (a hash with one bucket per cell): each agent reads only the
// (2 * vision + 1)^2 cells around it, straight from a grid padded with `vision` wall cells, and a catch finds its
// prey through the per-cell agent index, so a step costs O(agents x view) whatever the arena's size.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

#define SWARM_AGENTS 256          // agent rows per arena: a compile-time constant
#define SWARM_SPAWN_TRIES 64
#define FRAME_W 384
#define FRAME_H 384

enum { SW_EMPTY, SW_FOOD, SW_PREY, SW_PREDATOR, SW_WALL, SW_NUM_CODES };
enum { SW_STAY, SW_UP, SW_DOWN, SW_LEFT, SW_RIGHT, SW_NUM_ACTIONS };

#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(prey_lives)      /* finished episodes that were prey lives (the rest were predators') */ \
    X(food)            /* food eaten (prey) */ \
    X(catches)         /* prey caught (predators) */ \
    X(caught)          /* prey lives that ended caught */
PUFFER_LOG(LOG_STATS)   // score: food eaten by a prey, or prey caught by a predator, per episode

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int width, height;
    int num_predators;
    int num_food;
    int vision;
    int max_steps;
    float reward_food, reward_catch, reward_caught;
    // derived by c_init
    int stride, padded_cells;
    int offsets[SW_NUM_ACTIONS];
    // state
    unsigned char* cells;     // padded arena of SW_* codes (the agent's code over food's)
    unsigned char* food;      // per padded cell: 1 if food lies there (also under a predator)
    int* who;                 // per padded cell: the agent there + 1, or 0 (the index that finds a caught prey)
    int cell[SWARM_AGENTS];   // each agent's padded cell
    int steps[SWARM_AGENTS];  // steps of the current life
    int eaten[SWARM_AGENTS];  // food or prey taken this life
    float episode_return[SWARM_AGENTS];
    int first;                // the agent that moves first this step
} Swarm;

static inline int swarm_obs_size(const Swarm* env) {
    int side = 2 * env->vision + 1;
    return side * side + 1;
}

static inline int swarm_is_predator(const Swarm* env, int i) {
    return i < env->num_predators;
}

static inline int swarm_random_cell(Swarm* env) {
    return arena_random_cell(arena_of(env), &env->rng);
}

// A random cell without an agent (and without food when `no_food`), or -1 if bounded tries find none.
static int swarm_find_free(Swarm* env, int no_food) {
    for (int t = 0; t < SWARM_SPAWN_TRIES; t++) {
        int c = swarm_random_cell(env);
        if (env->cells[c] == SW_EMPTY || (!no_food && env->cells[c] == SW_FOOD)) return c;
    }
    return -1;
}

static void swarm_place_food(Swarm* env) {
    int c = swarm_find_free(env, 1);
    if (c >= 0) {
        env->food[c] = 1;
        env->cells[c] = SW_FOOD;
    }
}

// Put agent i on a random cell (prey eat food they land on; it is replaced). A full arena parks it at -1: it
// tries again next step.
static void swarm_spawn(Swarm* env, int i) {
    int c = swarm_find_free(env, 0);
    env->cell[i] = c;
    env->steps[i] = 0;
    env->eaten[i] = 0;
    env->episode_return[i] = 0.0f;
    if (c < 0) return;
    env->cells[c] = swarm_is_predator(env, i) ? SW_PREDATOR : SW_PREY;
    env->who[c] = i + 1;
    if (!swarm_is_predator(env, i) && env->food[c]) {
        env->food[c] = 0;
        swarm_place_food(env);
    }
}

// Observation of agent i (uint8): the (2 * vision + 1)^2 cells around it, row-major from the top-left (codes:
// 0 empty, 1 food, 2 prey, 3 predator, 4 wall; the agent itself at the centre), then its role (0 prey,
// 1 predator). An agent waiting to respawn sees all zeros.
static void swarm_observe(Swarm* env, int i) {
    int side = 2 * env->vision + 1;
    unsigned char* obs = env->observations + (size_t)i * (side * side + 1);
    obs[side * side] = (unsigned char)swarm_is_predator(env, i);
    if (env->cell[i] < 0) {
        memset(obs, 0, (size_t)side * side);
        return;
    }
    arena_view(arena_of(env), obs, env->cell[i]);
}

int c_init(Swarm* env) {
    env->padded_cells = arena_layout(env->width, env->height, env->vision, &env->stride);
    env->cells = (unsigned char*)calloc((size_t)env->padded_cells, 1);
    env->food = (unsigned char*)calloc((size_t)env->padded_cells, 1);
    env->who = (int*)calloc((size_t)env->padded_cells, sizeof(int));
    env->offsets[SW_STAY] = 0;
    env->offsets[SW_UP] = -env->stride;
    env->offsets[SW_DOWN] = env->stride;
    env->offsets[SW_LEFT] = -1;
    env->offsets[SW_RIGHT] = 1;
    return env->cells && env->food && env->who ? 0 : -1;
}

void c_reset(Swarm* env) {
    memset(env->cells, SW_WALL, (size_t)env->padded_cells);
    memset(env->food, 0, (size_t)env->padded_cells);
    memset(env->who, 0, (size_t)env->padded_cells * sizeof(int));
    arena_fill(arena_of(env), env->cells, 1, SW_EMPTY);
    for (int f = 0; f < env->num_food; f++) swarm_place_food(env);
    for (int i = 0; i < SWARM_AGENTS; i++) swarm_spawn(env, i);
    env->first = 0;
    for (int i = 0; i < SWARM_AGENTS; i++) {
        env->rewards[i] = 0.0f;
        env->terminals[i] = 0;
        env->truncations[i] = 0;
        swarm_observe(env, i);
    }
}

static void swarm_end_life(Swarm* env, int i) {
    int prey = !swarm_is_predator(env, i);
    env->log.score += (float)env->eaten[i];
    env->log.episode_return += env->episode_return[i];
    env->log.episode_length += (float)env->steps[i];
    env->log.prey_lives += (float)prey;
    env->log.food += prey ? (float)env->eaten[i] : 0.0f;
    env->log.catches += prey ? 0.0f : (float)env->eaten[i];
    env->log.caught += (float)(prey && env->terminals[i]);
    env->log.n += 1.0f;
}

// Actions: 0 stay, 1 up, 2 down, 3 left, 4 right.
void c_step(Swarm* env) {
    for (int i = 0; i < SWARM_AGENTS; i++) {
        env->rewards[i] = 0.0f;
        env->terminals[i] = 0;
        env->truncations[i] = 0;
    }
    for (int k = 0; k < SWARM_AGENTS; k++) {
        int i = env->first + k < SWARM_AGENTS ? env->first + k : env->first + k - SWARM_AGENTS;
        int from = env->cell[i];
        if (from < 0 || env->terminals[i]) continue;   // waiting to respawn, or caught earlier this step
        int to = from + env->offsets[env->actions[i]];
        int there = env->cells[to], predator = swarm_is_predator(env, i);
        if (to == from || there == SW_WALL || there == SW_PREDATOR || (there == SW_PREY && !predator)) continue;
        if (there == SW_PREY) {
            int victim = env->who[to] - 1;
            env->rewards[i] += env->reward_catch;
            env->eaten[i]++;
            env->rewards[victim] += env->reward_caught;
            env->terminals[victim] = 1;
            env->cell[victim] = -1;
        } else if (there == SW_FOOD && !predator) {
            env->food[to] = 0;
            env->rewards[i] += env->reward_food;
            env->eaten[i]++;
            swarm_place_food(env);
        }
        env->cells[from] = env->food[from] ? SW_FOOD : SW_EMPTY;
        env->who[from] = 0;
        env->cells[to] = predator ? SW_PREDATOR : SW_PREY;
        env->who[to] = i + 1;
        env->cell[i] = to;
    }
    env->first = env->first + 1 < SWARM_AGENTS ? env->first + 1 : 0;
    for (int i = 0; i < SWARM_AGENTS; i++) {
        env->episode_return[i] += env->rewards[i];
        env->steps[i]++;
        if (!env->terminals[i] && env->cell[i] >= 0 && env->steps[i] >= env->max_steps) {
            env->truncations[i] = 1;
            env->cells[env->cell[i]] = env->food[env->cell[i]] ? SW_FOOD : SW_EMPTY;
            env->who[env->cell[i]] = 0;
        }
        if (env->terminals[i] || env->truncations[i]) swarm_end_life(env, i);
        if (env->terminals[i] || env->truncations[i] || env->cell[i] < 0) swarm_spawn(env, i);
    }
    for (int i = 0; i < SWARM_AGENTS; i++) swarm_observe(env, i);
}

void c_render(Swarm* env, unsigned char* frame) {
    static const Color colors[SW_NUM_CODES] = {{0, 0, 0}, {80, 200, 80}, {90, 150, 255}, {240, 70, 60},
                                               {90, 90, 100}};
    arena_render(arena_of(env), canvas_of(frame, FRAME_W, FRAME_H), colors, SW_EMPTY);
}

// Text picture: '.' empty, '*' food, 'o' prey, 'X' predator.
int c_render_text(Swarm* env, char* buffer, int size) {
    static const char symbols[SW_NUM_CODES] = {'.', '*', 'o', 'X', '#'};
    return arena_render_text(arena_of(env), buffer, size, symbols);
}

void c_close(Swarm* env) {
    free(env->cells);
    free(env->food);
    free(env->who);
    env->cells = env->food = NULL;
    env->who = NULL;
}
