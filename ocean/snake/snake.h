// Snake: SNAKE_AGENTS snakes share one walled arena; each snake is one agent row.
//
// Every step all snakes move at once. A snake whose head lands on food grows by one and the food reappears
// elsewhere. A snake dies when its head enters a wall or any snake's body, or when two heads meet; its episode
// ends there (terminal) and it respawns, length 1, on a random free cell. A life longer than `max_steps` is
// truncated the same way.
//
// Each snake sees a (2*vision+1)^2 crop of the arena centred on its head, one byte per cell. The arena is stored
// with a `vision`-cell wall border, so the crop is a few row copies and never needs bounds checks.
// Body cells also record the direction the snake left them in, which lets the tail follow the body with only a
// head and a tail position per snake.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

enum { SNAKE_EMPTY, SNAKE_FOOD, SNAKE_WALL, SNAKE_BODY, SNAKE_HEAD, SNAKE_NUM_CELLS };
#define SNAKE_NUM_ACTIONS 4   // 0 up, 1 down, 2 left, 3 right; the reverse of the current heading is ignored
#define SNAKE_AGENTS 8         // snakes per arena: a compile-time constant, as the binding needs agent rows per env
#define SNAKE_SPAWN_TRIES 64
#define FRAME_W 320            // the arena is scaled to fit
#define FRAME_H 320

#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)   // score: length of the snake when its life ended (1 + food eaten)

typedef struct {
    int head, tail;        // cell indices into the padded arena
    int length;
    int heading;           // last direction moved
    int alive;
    int moving;            // alive at the start of this step
    int target;            // cell the head moves into this step
    int steps;
    float episode_return;
    int food_eaten;
} SnakeBody;

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: SNAKE_AGENTS rows of (2*vision+1)^2 cells
    // parameters
    int width, height;     // playable cells
    int num_food;
    int vision;            // crop radius: each snake sees (2 * vision + 1)^2 cells
    int max_steps;         // per life
    float reward_food;
    float reward_death;
    // state
    int stride;            // padded row length: width + 2*vision
    int padded_cells;
    unsigned char* cells;        // padded arena of SNAKE_* codes
    unsigned char* claims;       // per cell, how many heads move into it this step
    unsigned char* exit_dir;     // per body cell, the direction its snake moved out of it
    SnakeBody snakes[SNAKE_AGENTS];
    int offsets[SNAKE_NUM_ACTIONS];
} Snake;

static inline int snake_obs_size(const Snake* env) {
    int side = 2 * env->vision + 1;
    return side * side;
}

// A uniformly random cell of the playable area (inside the wall border).
static inline int snake_random_cell(Snake* env) {
    return arena_random_cell(arena_of(env), &env->rng);
}

// A random empty playable cell, or -1 when a bounded number of tries finds none (a nearly full arena).
static int snake_find_empty(Snake* env) {
    for (int t = 0; t < SNAKE_SPAWN_TRIES; t++) {
        int cell = snake_random_cell(env);
        if (env->cells[cell] == SNAKE_EMPTY) return cell;
    }
    return -1;
}

static void snake_place_food(Snake* env) {
    int cell = snake_find_empty(env);
    if (cell >= 0) env->cells[cell] = SNAKE_FOOD;
}

static void snake_spawn(Snake* env, SnakeBody* s) {
    int cell = snake_find_empty(env);
    s->alive = cell >= 0;
    s->steps = 0;
    s->episode_return = 0.0f;
    s->food_eaten = 0;
    if (!s->alive) return;   // tried again next step
    s->head = s->tail = cell;
    s->length = 1;
    s->heading = rng_int(&env->rng, SNAKE_NUM_ACTIONS);
    env->cells[cell] = SNAKE_HEAD;
}

static void snake_clear_body(Snake* env, SnakeBody* s) {
    if (s->length == 0) return;   // a length-1 snake that already left its cell; another head may be there now
    int cell = s->tail;
    for (int i = 1; i < s->length; i++) {
        env->cells[cell] = SNAKE_EMPTY;
        cell += env->offsets[env->exit_dir[cell]];
    }
    env->cells[s->head] = SNAKE_EMPTY;
}

static void snake_write_obs(Snake* env, int i) {
    int side = 2 * env->vision + 1;
    unsigned char* obs = env->observations + (size_t)i * side * side;
    SnakeBody* s = &env->snakes[i];
    if (!s->alive) {
        memset(obs, SNAKE_EMPTY, (size_t)side * side);
        return;
    }
    arena_view(arena_of(env), obs, s->head);
}

static void snake_end_life(Snake* env, SnakeBody* s) {
    env->log.score += (float)(1 + s->food_eaten);
    env->log.episode_return += s->episode_return;
    env->log.episode_length += (float)s->steps;
    env->log.n += 1.0f;
}

// 0, or -1 when out of memory (c_close frees whatever was allocated).
int c_init(Snake* env) {
    env->padded_cells = arena_layout(env->width, env->height, env->vision, &env->stride);
    env->cells = (unsigned char*)calloc(env->padded_cells, 1);
    env->claims = (unsigned char*)calloc(env->padded_cells, 1);
    env->exit_dir = (unsigned char*)calloc(env->padded_cells, 1);
    env->offsets[0] = -env->stride;
    env->offsets[1] = env->stride;
    env->offsets[2] = -1;
    env->offsets[3] = 1;
    return env->cells && env->claims && env->exit_dir ? 0 : -1;
}

void c_reset(Snake* env) {
    memset(env->cells, SNAKE_WALL, env->padded_cells);
    arena_fill(arena_of(env), env->cells, 1, SNAKE_EMPTY);
    for (int i = 0; i < SNAKE_AGENTS; i++) snake_spawn(env, &env->snakes[i]);
    for (int f = 0; f < env->num_food; f++) snake_place_food(env);
    for (int i = 0; i < SNAKE_AGENTS; i++) {
        env->rewards[i] = 0.0f;
        env->terminals[i] = 0;
        env->truncations[i] = 0;
        snake_write_obs(env, i);
    }
}

// Moves happen in passes so that the outcome never depends on the order of the snakes:
// 1) every snake picks its target cell, and snakes that will not eat pull their tails in;
// 2) heads are counted per target cell; 3) a snake dies if its target is blocked or shared, else it moves;
// 4) dead snakes are removed, food is replaced, finished lives are logged and respawned.
void c_step(Snake* env) {
    static const int reverse[SNAKE_NUM_ACTIONS] = {1, 0, 3, 2};
    const int n = SNAKE_AGENTS;
    int eaten = 0;
    for (int i = 0; i < n; i++) {
        SnakeBody* s = &env->snakes[i];
        env->rewards[i] = 0.0f;
        env->terminals[i] = 0;
        env->truncations[i] = 0;
        s->moving = s->alive;
        if (!s->alive) continue;
        int action = env->actions[i];
        if (s->length > 1 && action == reverse[s->heading]) action = s->heading;
        s->heading = action;
        s->target = s->head + env->offsets[action];
        if (env->cells[s->target] == SNAKE_FOOD) continue;
        if (s->length > 1) {
            int tail = s->tail;
            s->tail = tail + env->offsets[env->exit_dir[tail]];
            env->cells[tail] = SNAKE_EMPTY;
        } else {
            env->cells[s->head] = SNAKE_EMPTY;   // a length-1 snake leaves its only cell
        }
        s->length--;   // the head's move adds it back
    }
    for (int i = 0; i < n; i++) {
        if (env->snakes[i].moving) env->claims[env->snakes[i].target]++;
    }
    for (int i = 0; i < n; i++) {
        SnakeBody* s = &env->snakes[i];
        if (!s->moving) continue;
        s->steps++;
        unsigned char cell = env->cells[s->target];
        if (cell == SNAKE_WALL || cell == SNAKE_BODY || cell == SNAKE_HEAD || env->claims[s->target] > 1) {
            s->alive = 0;   // its body is cleared after this pass, once every snake has seen the arena
            env->rewards[i] = env->reward_death;
            continue;
        }
        if (cell == SNAKE_FOOD) {
            env->rewards[i] = env->reward_food;
            s->food_eaten++;
            eaten++;
        }
        if (s->length > 0) {
            env->exit_dir[s->head] = (unsigned char)s->heading;
            env->cells[s->head] = SNAKE_BODY;
        } else {
            s->tail = s->target;
        }
        s->head = s->target;
        s->length++;
        env->cells[s->head] = SNAKE_HEAD;
    }
    for (int i = 0; i < n; i++) {
        SnakeBody* s = &env->snakes[i];
        if (s->moving) env->claims[s->target] = 0;
        s->episode_return += env->rewards[i];
        if (s->moving && !s->alive) {
            env->terminals[i] = 1;
        } else if (s->alive && s->steps >= env->max_steps) {
            env->truncations[i] = 1;
        } else if (s->alive) {
            continue;
        }
        if (s->moving) {
            snake_clear_body(env, s);
            snake_end_life(env, s);
        }
        snake_spawn(env, s);
    }
    for (int f = 0; f < eaten; f++) snake_place_food(env);
    for (int i = 0; i < n; i++) snake_write_obs(env, i);
}

void c_render(Snake* env, unsigned char* frame) {
    static const Color colors[SNAKE_NUM_CELLS] = {
        {0, 0, 0}, {220, 60, 60}, {90, 90, 100}, {60, 160, 60}, {140, 230, 140}};
    arena_render(arena_of(env), canvas_of(frame, FRAME_W, FRAME_H), colors, -1);   // empty cells black
}

// Text picture: '.' empty, '*' food, 'o' body, '@' head.
int c_render_text(Snake* env, char* buffer, int size) {
    static const char symbols[SNAKE_NUM_CELLS] = {'.', '*', '#', 'o', '@'};
    return arena_render_text(arena_of(env), buffer, size, symbols);
}

void c_close(Snake* env) {
    free(env->cells);
    free(env->claims);
    free(env->exit_dir);
    env->cells = env->claims = env->exit_dir = NULL;
}
