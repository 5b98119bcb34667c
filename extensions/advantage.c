/* V-trace-clipped GAE over [segments, horizon] rollout buffers (DESIGN §6), the CPU kernel of pufferlib.advantage.
 *
 * Step t of a segment holds the observation o_t, its value V_t, the importance ratio r_t of the action taken there,
 * and the reward / terminal / truncation that arrived together with o_t (the result of the action at t - 1).
 *   rho_t = min(r_t, rho_clip), c_t = min(r_t, c_clip), n_t = 1 - (terminal_{t+1} or truncated_{t+1})
 *   next_t = 0 if terminal_{t+1}; V_t if truncated_{t+1} (bootstrap from the episode's last observation); else V_{t+1}
 *   delta_t = rho_t (R_{t+1} + gamma next_t - V_t),   A_t = delta_t + gamma lambda c_t n_t A_{t+1}
 * The last step of a segment has no successor in the buffer and gets A = 0.
 *
 * Optional masks (1: the row acted at that step; 0: it did not, e.g. waiting for its turn in a board game): a step
 * with mask 0 is not a decision of this row, so its value is never trained and must not be bootstrapped from. The
 * recursion passes through it: rho and c are 1 there (its action was ignored), and the trace into it uses
 * lambda = 1, which cancels its value: A_{t-1} then holds R_t + gamma R_{t+1} + gamma^2 V_{t+1} - V_{t-1} + ...
 * as if the masked step were part of one longer transition. With every mask 1 this is the recursion above.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static void advantage_segment(const float *values, const float *rewards, const float *terminals,
                              const float *truncations, const float *ratio, const float *masks,
                              float *advantages, int horizon, float gamma, float lambda, float rho_clip,
                              float c_clip) {
    float running = 0.0f;
    advantages[horizon - 1] = 0.0f;
    for (int t = horizon - 2; t >= 0; t--) {
        int next = t + 1;
        float terminal = terminals[next], truncated = truncations[next];
        float rho = ratio[t] < rho_clip ? ratio[t] : rho_clip;
        float c = ratio[t] < c_clip ? ratio[t] : c_clip;
        float trace_lambda = lambda;
        if (masks != NULL) {
            if (masks[t] <= 0.0f) rho = c = 1.0f;
            if (masks[next] <= 0.0f) trace_lambda = 1.0f;
        }
        float next_value = terminal > 0.0f ? 0.0f : (truncated > 0.0f ? values[t] : values[next]);
        float not_done = (terminal > 0.0f || truncated > 0.0f) ? 0.0f : 1.0f;
        float delta = rho * (rewards[next] + gamma * next_value - values[t]);
        running = delta + gamma * trace_lambda * c * not_done * running;
        advantages[t] = running;
    }
}

/* Borrow a C-contiguous float32 buffer of exactly `count` items; writable if asked. */
static int get_floats(PyObject *obj, Py_buffer *view, Py_ssize_t count, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s float32 array", name, writable ? " writable" : "");
        return -1;
    }
    if (view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0) {
        PyErr_Format(PyExc_TypeError, "%s must have dtype float32 (format 'f'), got format '%s'", name,
                     view->format ? view->format : "?");
        PyBuffer_Release(view);
        return -1;
    }
    if (view->len != count * 4) {
        PyErr_Format(PyExc_ValueError, "%s has %zd items, expected segments * horizon = %zd", name,
                     view->len / 4, count);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *compute(PyObject *self, PyObject *args) {
    PyObject *objects[7] = {NULL};
    int segments, horizon;
    float gamma, lambda, rho_clip, c_clip;
    if (!PyArg_ParseTuple(args, "OOOOOOiiffff|O", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &objects[5], &segments, &horizon, &gamma, &lambda, &rho_clip, &c_clip, &objects[6]))
        return NULL;
    if (objects[6] == Py_None) objects[6] = NULL;
    int buffers = objects[6] != NULL ? 7 : 6;
    if (segments < 0 || horizon < 1) {
        PyErr_Format(PyExc_ValueError, "need segments >= 0 and horizon >= 1, got %d and %d", segments, horizon);
        return NULL;
    }
    static const char *names[7] = {"values", "rewards", "terminals", "truncations", "ratio", "advantages", "masks"};
    Py_buffer views[7];
    Py_ssize_t count = (Py_ssize_t)segments * horizon;
    for (int i = 0; i < buffers; i++) {
        if (get_floats(objects[i], &views[i], count, i == 5, names[i]) < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&views[j]);
            return NULL;
        }
    }
    const float *values = views[0].buf, *rewards = views[1].buf, *terminals = views[2].buf;
    const float *truncations = views[3].buf, *ratio = views[4].buf;
    float *advantages = views[5].buf;
    const float *masks = buffers == 7 ? views[6].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    for (int s = 0; s < segments; s++) {
        Py_ssize_t offset = (Py_ssize_t)s * horizon;
        advantage_segment(values + offset, rewards + offset, terminals + offset, truncations + offset,
                          ratio + offset, masks ? masks + offset : NULL, advantages + offset, horizon, gamma, lambda,
                          rho_clip, c_clip);
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < buffers; i++) PyBuffer_Release(&views[i]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"compute", compute, METH_VARARGS,
     "compute(values, rewards, terminals, truncations, ratio, advantages, segments, horizon, gamma, gae_lambda, "
     "rho_clip, c_clip, masks=None): write V-trace-clipped GAE into advantages (all float32 [segments, horizon]); "
     "steps with mask 0 are passed through (see the file's header)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_advantage", "Native advantage kernel.", -1, methods};

PyMODINIT_FUNC PyInit__advantage(void) { return PyModule_Create(&module); }
