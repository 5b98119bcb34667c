"""Policies (docs/architecture.md §5): an encoder from observations to a hidden vector, a decoder from it to actions
and value.

Every policy exposes `encode_observations(observations) -> hidden` and `decode_actions(hidden) -> (action
parameters, value)`, so a recurrent wrapper (LSTM, GRU, minGRU) can sit between the two. `action_head` turns action
parameters into sampled actions, log-probabilities and entropies for Discrete, MultiDiscrete and Box (Gaussian)
action spaces.

`[base] policy_name` picks the class, `[policy]` keys are its keyword arguments; `[base] rnn_name = LSTMWrapper` (or
GRUWrapper, MinGRUWrapper) wraps it with `[rnn]` keys as arguments.
"""
import math

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from pufferlib.exceptions import APIUsageError, ConfigError


def layer_init(layer, std=math.sqrt(2), bias=0.0):
    """Orthogonal weights: the usual PPO initialization (small std for the action head, 1 for the value head)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


# ----------------------------------------------------------------------------------------------------------------
# Action heads: hidden -> action parameters -> (actions, log-probability, entropy)
# ----------------------------------------------------------------------------------------------------------------

# The logit of an illegal action (docs/policies.md): probability exp(-1e9) = 0, yet finite, so the entropy's
# p log p is 0 * -1e9 = 0 instead of 0 * -inf = nan, and Gumbel noise (at most ~17) can never lift it to the top.
MASKED_LOGIT = -1e9


class CategoricalHead(nn.Module):
    """Discrete and MultiDiscrete actions: one categorical distribution per action dimension.

    `mask` (optional in sample, logprob_entropy and greedy): [rows, sum(nvec)] bool, True where a choice is legal.
    Illegal choices get MASKED_LOGIT, so they are never sampled nor chosen, and log-probabilities and entropies are
    those of the distribution renormalized over the legal choices. A dimension of a row with no legal choice at all
    (an absent agent's zeros) counts as all legal."""

    def __init__(self, hidden_size, nvec, orthogonal=True):
        super().__init__()
        self.nvec = [int(n) for n in nvec]
        self.linear = nn.Linear(hidden_size, sum(self.nvec))
        if orthogonal:
            layer_init(self.linear, std=0.01)
        # Pad every dimension to the widest one so all dimensions are handled in one batched op.
        width = max(self.nvec)
        index = [d * width + i for d, n in enumerate(self.nvec) for i in range(n)]
        self.register_buffer('pad_index', torch.tensor(index, dtype=torch.long), persistent=False)
        self.padded = any(n != width for n in self.nvec)
        self.width = width
        # The action dimension of each mask column, to find dimensions left without a legal choice.
        dims = [d for d, n in enumerate(self.nvec) for _ in range(n)]
        self.register_buffer('mask_dim', torch.tensor(dims, dtype=torch.long), persistent=False)

    @property
    def output_layer(self):
        """The linear layer from hidden to action parameters (BasePolicy fuses it with the value head)."""
        return self.linear

    def legal(self, mask):
        """`mask` as bool, with every choice of a dimension that has no legal one made legal."""
        mask = mask.bool()
        if len(self.nvec) == 1:
            return mask | ~mask.any(-1, keepdim=True)
        counts = torch.zeros(mask.shape[0], len(self.nvec), device=mask.device).index_add_(
            1, self.mask_dim, mask.float())
        return mask | (counts == 0)[:, self.mask_dim]

    def masked(self, logits, mask):
        """float32 logits with the illegal choices at MASKED_LOGIT (logits as they are when `mask` is None)."""
        return logits if mask is None else logits.float().masked_fill(~self.legal(mask), MASKED_LOGIT)

    def _log_probs(self, logits, mask=None):
        if mask is not None:
            logits = self.masked(logits, mask)
        dims = len(self.nvec)
        if self.padded:
            # -1e9 rather than -inf: probability 0 without 0 * inf = nan in the entropy.
            padded = logits.new_full((logits.shape[0], dims * self.width), -1e9)
            padded[:, self.pad_index] = logits
            logits = padded
        return torch.log_softmax(logits.reshape(-1, dims, self.width).float(), dim=-1)

    def noise(self, rows, device):
        """The randomness `sample` uses for `rows` rows, drawn apart so that compiled sampling draws nothing."""
        return torch.rand(rows, len(self.nvec), self.width, device=device)

    def sample(self, logits, noise=None, mask=None):
        log_probs = self._log_probs(logits, mask)
        # Gumbel-max: one vectorized op for every row and dimension (faster than multinomial on CPU).
        noise = (torch.rand_like(log_probs) if noise is None else noise).clamp(min=1e-20)
        actions = torch.argmax(log_probs - torch.log(-torch.log(noise)), dim=-1)
        logprob = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)
        if len(self.nvec) == 1:
            actions = actions.squeeze(-1)
        return actions, logprob

    def logprob_entropy(self, logits, actions, mask=None):
        log_probs = self._log_probs(logits, mask)
        actions = actions.long().view(log_probs.shape[0], len(self.nvec), 1)
        logprob = log_probs.gather(-1, actions).squeeze(-1).sum(-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1).sum(-1)
        return logprob, entropy

    def greedy(self, logits, mask=None):
        """The most likely action: the mode of each dimension (of its legal choices, with a `mask`)."""
        logits = self.masked(logits, mask)
        actions = torch.stack([part.argmax(-1) for part in torch.split(logits, self.nvec, dim=-1)], dim=-1)
        return actions.squeeze(-1) if len(self.nvec) == 1 else actions


BOX_DEFAULTS = dict(initial_std=1.0, state_dependent_std=False, tanh_squash=False)
LOG_STD_RANGE = (-20.0, 2.0)  # state-dependent log std is clamped here (as Stable-Baselines3 does)
SQUASH_EPS = 1e-6              # tanh values are kept this far inside (-1, 1), so atanh stays finite


class GaussianHead(nn.Module):
    """Box actions: a diagonal Gaussian. Its log standard deviation starts at log(initial_std) and is a learned
    parameter, or with `state_dependent_std` a second output of the network (params are then [mean, log_std]).

    With `tanh_squash`, a sample u is squashed into the Box `bounds`, a = low + (tanh(u) + 1) (high - low) / 2, and its
    log-probability gets the change of variables, log N(u) - sum log(1 - tanh(u)^2) - sum log((high - low) / 2)
    (Haarnoja et al. 2018, SAC, appendix C). The log-probability is always computed from the stored action (u is
    recovered with atanh), in sampling exactly as in the update, so the PPO ratio starts at 1 even where tanh
    saturates. The entropy is the pre-squash Gaussian's: the squashed one has no closed form."""

    def __init__(self, hidden_size, action_shape, orthogonal=True, initial_std=1.0, state_dependent_std=False,
                 tanh_squash=False, bounds=(-1.0, 1.0)):
        super().__init__()
        self.action_shape = tuple(action_shape)
        self.size = size = int(np.prod(self.action_shape))
        self.state_dependent_std, self.tanh_squash = state_dependent_std, tanh_squash
        if state_dependent_std:
            self.mean_log_std = nn.Linear(hidden_size, 2 * size)
            if orthogonal:
                layer_init(self.mean_log_std, std=0.01)
            with torch.no_grad():
                self.mean_log_std.bias[size:] = math.log(initial_std)
        else:
            self.mean = nn.Linear(hidden_size, size)
            if orthogonal:
                layer_init(self.mean, std=0.01)
            self.log_std = nn.Parameter(torch.full((size,), math.log(initial_std)))
        if tanh_squash:
            low, high = (torch.tensor(np.broadcast_to(bound, self.action_shape).reshape(-1), dtype=torch.float32)
                         for bound in bounds)
            self.register_buffer('action_low', low, persistent=False)
            self.register_buffer('action_half_range', (high - low) / 2, persistent=False)

    @property
    def output_layer(self):
        """The linear layer from hidden to action parameters (BasePolicy fuses it with the value head)."""
        return self.mean_log_std if self.state_dependent_std else self.mean

    def noise(self, rows, device):
        """The randomness `sample` uses for `rows` rows, drawn apart so that compiled sampling draws nothing."""
        return torch.randn(rows, self.size, device=device)

    def mean_and_log_std(self, params):
        params = params.float()
        if not self.state_dependent_std:
            return params, self.log_std
        mean, log_std = params.chunk(2, dim=-1)
        return mean, log_std.clamp(*LOG_STD_RANGE)

    def sample(self, params, noise=None):
        mean, log_std = self.mean_and_log_std(params)
        actions = mean + log_std.exp() * (torch.randn_like(mean) if noise is None else noise)
        if self.tanh_squash:
            actions = self.squash(actions)
        return actions.view(-1, *self.action_shape), self._logprob(mean, log_std, actions)

    def squash(self, u):
        return self.action_low + (torch.tanh(u) + 1) * self.action_half_range

    def _logprob(self, mean, log_std, actions):
        if self.tanh_squash:
            unit = ((actions - self.action_low) / self.action_half_range - 1).clamp(-1 + SQUASH_EPS, 1 - SQUASH_EPS)
            actions = torch.atanh(unit)
            # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
            jacobian = 2 * (math.log(2) - actions - nn.functional.softplus(-2 * actions)) + \
                torch.log(self.action_half_range)
        z = (actions - mean) / log_std.exp()
        logprob = (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return logprob - jacobian.sum(-1) if self.tanh_squash else logprob

    def logprob_entropy(self, params, actions):
        mean, log_std = self.mean_and_log_std(params)
        logprob = self._logprob(mean, log_std, actions.view(mean.shape).float())
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1).expand(mean.shape[0])
        return logprob, entropy

    def greedy(self, params):
        """The most likely pre-squash action, the mean (squashed into the Box with tanh_squash)."""
        mean, _ = self.mean_and_log_std(params)
        return (self.squash(mean) if self.tanh_squash else mean).view(-1, *self.action_shape)


class JoinedLinear:
    """Several linear layers read as one (their outputs side by side): what BasePolicy fuses with the value head."""

    def __init__(self, layers):
        self.layers = layers

    @property
    def weight(self):
        return torch.cat([layer.weight for layer in self.layers])

    @property
    def bias(self):
        return torch.cat([layer.bias for layer in self.layers])

    def __call__(self, x):
        return nn.functional.linear(x, self.weight, self.bias)


class MixedHead(nn.Module):
    """Mixed actions (contract.MixedSpace): a CategoricalHead for the discrete dimensions and a GaussianHead for
    the Box values. Action parameters are the logits, then the Gaussian's parameters; an action row is the chosen
    indices (as floats), then the values. The parts are independent given the state, so the log-probability and the
    entropy are the sums of the parts'. An action mask masks the discrete part only."""

    def __init__(self, hidden_size, action_space, orthogonal=True, **box_options):
        super().__init__()
        self.categorical = CategoricalHead(hidden_size, action_space.discrete.nvec, orthogonal)
        self.gaussian = make_action_head(action_space.box, hidden_size, orthogonal, **box_options)
        self.num_logits = sum(self.categorical.nvec)
        self.num_discrete = len(self.categorical.nvec)
        self.tanh_squash = self.gaussian.tanh_squash

    @property
    def output_layer(self):
        return JoinedLinear([self.categorical.output_layer, self.gaussian.output_layer])

    def split(self, params):
        return params[:, :self.num_logits], params[:, self.num_logits:]

    def noise(self, rows, device):
        return self.categorical.noise(rows, device), self.gaussian.noise(rows, device)

    def join(self, discrete, values):
        rows = values.shape[0]
        return torch.cat([discrete.reshape(rows, -1).float(), values.reshape(rows, -1).float()], dim=1)

    def sample(self, params, noise=None, mask=None):
        logits, gaussian = self.split(params)
        categorical_noise, gaussian_noise = (None, None) if noise is None else noise
        discrete, discrete_logprob = self.categorical.sample(logits, categorical_noise, mask)
        values, value_logprob = self.gaussian.sample(gaussian, gaussian_noise)
        return self.join(discrete, values), discrete_logprob + value_logprob

    def logprob_entropy(self, params, actions, mask=None):
        logits, gaussian = self.split(params)
        actions = actions.reshape(actions.shape[0], -1)
        discrete_logprob, discrete_entropy = self.categorical.logprob_entropy(
            logits, actions[:, :self.num_discrete].round().long(), mask)
        value_logprob, value_entropy = self.gaussian.logprob_entropy(gaussian, actions[:, self.num_discrete:])
        return discrete_logprob + value_logprob, discrete_entropy + value_entropy

    def greedy(self, params, mask=None):
        logits, gaussian = self.split(params)
        return self.join(self.categorical.greedy(logits, mask), self.gaussian.greedy(gaussian))

    def legal(self, mask):
        return self.categorical.legal(mask)

    def masked(self, params, mask):
        """The action parameters with the illegal logits at MASKED_LOGIT (see CategoricalHead.masked)."""
        if mask is None:
            return params
        logits, gaussian = self.split(params)
        return torch.cat([self.categorical.masked(logits, mask), gaussian.float()], dim=1)


def make_action_head(action_space, hidden_size, orthogonal=True, **box_options):
    """`box_options` (initial_std, state_dependent_std, tanh_squash) shape a Box action's Gaussian; a non-default
    one is a ConfigError for other action spaces."""
    from pufferlib.envs.contract import MixedSpace
    if isinstance(action_space, MixedSpace):
        return MixedHead(hidden_size, action_space, orthogonal, **box_options)
    if not isinstance(action_space, spaces.Box):
        for key, value in box_options.items():
            if value != BOX_DEFAULTS[key]:
                raise ConfigError(f'policy.{key} = {value} applies to Box actions; this env\'s actions are '
                                  f'{action_space}: remove it')
    if isinstance(action_space, spaces.Discrete):
        return CategoricalHead(hidden_size, [action_space.n], orthogonal)
    if isinstance(action_space, spaces.MultiDiscrete):
        return CategoricalHead(hidden_size, action_space.nvec.reshape(-1), orthogonal)
    if isinstance(action_space, spaces.Box):
        std = box_options.get('initial_std', 1.0)
        if not (isinstance(std, (int, float)) and not isinstance(std, bool) and 0 < std < math.inf):
            raise ConfigError(f'policy.initial_std = {std!r} must be a positive number (the starting standard '
                              'deviation of Box actions), e.g. 1.0 or 0.5')
        if box_options.get('tanh_squash') and not (np.isfinite(action_space.low).all() and
                                                   np.isfinite(action_space.high).all()):
            raise ConfigError(f'policy.tanh_squash = True needs a bounded Box; this env\'s actions are '
                              f'{action_space}: set tanh_squash = False')
        return GaussianHead(hidden_size, action_space.shape, orthogonal, **box_options,
                            bounds=(action_space.low, action_space.high))
    raise APIUsageError(f'no action head for {action_space}; use Discrete, MultiDiscrete or Box '
                        '(wrap structured action spaces with pufferlib.envs.emulation)')


# ----------------------------------------------------------------------------------------------------------------
# Observations
# ----------------------------------------------------------------------------------------------------------------

def packed_layout(env):
    """The emulation Layout of an env whose structured (Dict/Tuple) observations were packed as raw bytes, else None.

    Unpacked layouts already hold every part as a number of one common dtype, so their flat row is used as is."""
    space = getattr(env, 'structured_observation_space', None)
    if space is None or isinstance(space, spaces.Box):
        return None
    from pufferlib.envs import emulation
    layout = emulation.observation_layout(space)
    return layout if layout.packed else None


class ObservationFeatures(nn.Module):
    """Base of the modules that turn raw observations into the encoder's float input, where the observation
    settings of [train] act (set by make_policy): Sample Factory's fixed (x - obs_subtract_mean) / obs_scale, then,
    with obs_norm, a RunningMeanStd (pufferlib.normalize) clipped to obs_norm_clip. `features` is the input before
    the running normalization: what the trainer folds into its statistics."""

    def __init__(self):
        super().__init__()
        self.subtract_mean, self.scale = 0.0, 1.0
        self.normalizer = None

    def features(self, observations):
        x = self.raw_features(observations)
        if self.subtract_mean != 0.0:  # skipped at the defaults, so those runs compute exactly what they did
            x = x - self.subtract_mean
        if self.scale != 1.0:
            x = x / self.scale
        return x

    def forward(self, observations):
        x = self.features(observations)
        return x if self.normalizer is None else self.normalizer(x)


class FlatObservations(ObservationFeatures):
    """Observations -> one float vector per row. Packed structured observations are unpacked first, so each part
    keeps its real dtype and value instead of being read as raw bytes (and has its own normalization statistics)."""

    def __init__(self, env):
        super().__init__()
        self.layout = packed_layout(env)
        if self.layout is not None:
            self.size = sum(int(np.prod(leaf.shape)) for leaf in self.layout.leaves)
        else:
            self.size = int(np.prod(env.single_observation_space.shape))
        self.feature_shape = (self.size,)

    def raw_features(self, observations):
        rows = observations.shape[0]
        if self.layout is None:
            return observations.reshape(rows, -1).float()
        from pufferlib.envs import emulation
        parts = flatten_tree(emulation.unflatten(observations, self.layout))
        return torch.cat([part.reshape(rows, -1).float() for part in parts], dim=1)


def flatten_tree(tree):
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in flatten_tree(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for sub in tree for leaf in flatten_tree(sub)]
    return [tree]


def image_layout(env):
    """(channels, height, width, channels_last) of an image observation space."""
    shape = env.single_observation_space.shape
    if len(shape) == 2:
        return 1, shape[0], shape[1], False
    if len(shape) != 3:
        raise ConfigError(f'base.policy_name needs image observations [H, W, C] or [C, H, W]; '
                          f'{type(env).__name__} observations have shape {shape}: use policy_name = Policy')
    # Channels come last when the last axis is the short one (an RGB or grayscale frame).
    if shape[-1] <= 4 < shape[0]:
        return shape[2], shape[0], shape[1], True
    return shape[0], shape[1], shape[2], False


class ImageObservations(ObservationFeatures):
    """Image observations -> float [N, C, H, W] scaled to [0, 1] when stored as bytes (the fixed and running
    normalizations act after that scaling, per pixel and channel)."""

    def __init__(self, env):
        super().__init__()
        self.channels, self.height, self.width, self.channels_last = image_layout(env)
        self.byte_scale = 1 / 255 if env.single_observation_space.dtype == np.uint8 else 1.0
        self.feature_shape = (self.channels, self.height, self.width)

    def raw_features(self, observations):
        x = observations.float() * self.byte_scale
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return x.reshape(x.shape[0], self.channels, self.height, self.width)


# ----------------------------------------------------------------------------------------------------------------
# Policies
# ----------------------------------------------------------------------------------------------------------------

class BasePolicy(nn.Module):
    """Shared decoder and forward pass. Subclasses build `self.encoder` mapping observations -> [N, hidden_size]."""

    is_recurrent = False

    def __init__(self, env, hidden_size, orthogonal=True, **box_options):
        super().__init__()
        self.hidden_size = hidden_size
        self.action_head = make_action_head(env.single_action_space, hidden_size, orthogonal, **box_options)
        self.value_head = nn.Linear(hidden_size, 1)
        if orthogonal:
            layer_init(self.value_head, std=1.0)

    def encode_observations(self, observations):
        return self.encoder(observations)

    def decode_actions(self, hidden):
        # The action and value heads share one matmul: on CPU, two skinny matmuls and their backward passes cost
        # nearly twice one (the weights stay separate parameters, so saved models do not change).
        action_layer = self.action_head.output_layer
        weight = torch.cat([action_layer.weight, self.value_head.weight])
        bias = torch.cat([action_layer.bias, self.value_head.bias])
        output = nn.functional.linear(hidden, weight, bias)
        return output[:, :-1], output[:, -1]

    def forward(self, observations):
        return self.decode_actions(self.encode_observations(observations))


ACTIVATIONS = {'gelu': nn.GELU, 'silu': nn.SiLU, 'relu': nn.ReLU, 'tanh': nn.Tanh}


INITS = ('orthogonal', 'torch_default')


def comma_items(value):
    """A comma-list key's items as stripped texts: the INI form '2,6,7', a list or tuple, or one value."""
    items = value.split(',') if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip() for item in items]


def parse_layer_sizes(value):
    """`[policy] layer_sizes` as a tuple of widths, or None when unset (None or ''). Takes 256, '256,128' (the INI
    form) or a list or tuple of ints."""
    if value is None or value == '':
        return None
    sizes = []
    for text in comma_items(value):
        if not text.isdigit() or not 1 <= int(text) <= 2**16:
            raise ConfigError(f'policy.layer_sizes = {value!r}: {text!r} is not a layer width; give widths in '
                              '[1, 65536] separated by commas, e.g. 256,128')
        sizes.append(int(text))
    return tuple(sizes)


class Policy(BasePolicy):
    """MLP: flattened observations -> `num_layers` layers of `hidden_size` (or one layer per width of
    `layer_sizes`) -> action head and value head.

    `activation` is gelu, silu, relu or tanh. On CPU, ReLU's forward and backward cost a third of GELU's (whose erf
    dominates a small MLP's elementwise work). `init = orthogonal` gives every weight matrix orthogonal rows or
    columns with zero biases: gain `init_gain` for the hidden layers, 0.01 for the action head (near-uniform first
    actions) and 1 for the value head, the usual PPO convention; `torch_default` leaves PyTorch's own (Kaiming
    uniform) initialization. With `share_actor_critic = False` the value head reads its own tower of the same
    layers, so the value loss does not shape the policy's features. `initial_std`, `state_dependent_std` and
    `tanh_squash` shape Box actions (see GaussianHead)."""

    def __init__(self, env, hidden_size=128, num_layers=1, activation='gelu', layer_sizes=None, init='orthogonal',
                 init_gain=math.sqrt(2), share_actor_critic=True, initial_std=1.0, state_dependent_std=False,
                 tanh_squash=False):
        if activation not in ACTIVATIONS:
            raise ConfigError(f'policy.activation = {activation!r} is not an activation; valid: '
                              f'{", ".join(ACTIVATIONS)}')
        if init not in INITS:
            raise ConfigError(f'policy.init = {init!r} is not an initialization; valid: {", ".join(INITS)}')
        if isinstance(init_gain, bool) or not isinstance(init_gain, (int, float)) or not 0 < init_gain < math.inf:
            raise ConfigError(f'policy.init_gain = {init_gain!r} must be a positive number, e.g. 1.414 (sqrt 2, '
                              'for ReLU-like activations) or 1.0')
        for key, value in (('share_actor_critic', share_actor_critic), ('state_dependent_std', state_dependent_std),
                           ('tanh_squash', tanh_squash)):
            if not isinstance(value, bool):
                raise ConfigError(f'policy.{key} = {value!r} must be True or False')
        sizes = parse_layer_sizes(layer_sizes) or (hidden_size,) * max(num_layers, 1)
        orthogonal = init == 'orthogonal'
        super().__init__(env, sizes[-1], orthogonal, initial_std=initial_std,
                         state_dependent_std=state_dependent_std, tanh_squash=tanh_squash)
        flat = FlatObservations(env)

        def tower():
            layers = []
            for width_in, width in zip((flat.size, *sizes), sizes):
                linear = nn.Linear(width_in, width)
                layers += [layer_init(linear, init_gain) if orthogonal else linear, ACTIVATIONS[activation]()]
            return layers

        if share_actor_critic:
            self.encoder = nn.Sequential(flat, *tower())
            self.value_encoder = None
        else:
            self.observations = flat
            self.encoder = nn.Sequential(*tower())
            self.value_encoder = nn.Sequential(*tower())

    def encode_observations(self, observations):
        if self.value_encoder is None:
            return self.encoder(observations)
        features = self.observations(observations)
        return torch.cat([self.encoder(features), self.value_encoder(features)], dim=1)

    def decode_actions(self, hidden):
        """Separate towers: [N, 2 * hidden_size] in, the policy tower's half to the action head, the value
        tower's to the value head."""
        if self.value_encoder is None:
            return super().decode_actions(hidden)
        actor, critic = hidden.split(self.hidden_size, dim=1)
        return self.action_head.output_layer(actor), self.value_head(critic).squeeze(-1)


class ActionFeaturePolicy(BasePolicy):
    """Discrete actions described in the observation: its last `action_features * n` numbers are n blocks, block a
    describing what action a would do (tetris with `features = 1`: the board each placement leaves).

    One scorer, shared by every action, scores each block: linear when `feature_hidden` is 0, else a layer of
    `feature_hidden` ReLU units and a linear output (costly on CPU: it runs once per action). The rest of the
    observation goes through one GELU layer of `hidden_size`, which adds a per-action term to the logits and feeds
    the value head. Sharing the scorer is the point: what makes a placement good is learned once for all actions
    instead of once per action slot, as a plain MLP has to."""

    def __init__(self, env, hidden_size=128, action_features=5, feature_hidden=0):
        super().__init__(env, hidden_size)
        space = env.single_action_space
        if not isinstance(space, spaces.Discrete):
            raise ConfigError(f'base.policy_name = ActionFeaturePolicy needs a Discrete action space; '
                              f'{type(env).__name__} has {space}')
        flat = FlatObservations(env)
        self.actions, self.action_features = int(space.n), action_features
        self.context_size = flat.size - self.actions * action_features
        if feature_hidden < 0:
            raise ConfigError(f'policy.feature_hidden = {feature_hidden} must be 0 (a linear scorer) or a positive '
                              'number of ReLU units')
        if action_features < 1 or self.context_size < 1:
            raise ConfigError(f'policy.action_features = {action_features}: {self.actions} actions with that many '
                              f'features each must leave part of the {flat.size} observation numbers for the '
                              'state itself')
        self.flat = flat
        self.encoder = nn.Sequential(layer_init(nn.Linear(self.context_size, hidden_size)), nn.GELU())
        self.scorer = (layer_init(nn.Linear(action_features, 1), std=0.01) if feature_hidden == 0 else
                       nn.Sequential(layer_init(nn.Linear(action_features, feature_hidden)), nn.ReLU(),
                                     layer_init(nn.Linear(feature_hidden, 1), std=0.01)))

    def encode_observations(self, observations):
        """[N, hidden_size + n]: the encoded state, then each action's score."""
        flat = self.flat(observations)
        state = self.encoder(flat[:, :self.context_size])
        blocks = flat[:, self.context_size:].reshape(-1, self.actions, self.action_features)
        return torch.cat([state, self.scorer(blocks).squeeze(-1)], dim=1)

    def decode_actions(self, hidden):
        logits, value = super().decode_actions(hidden[:, :self.hidden_size])
        return logits + hidden[:, self.hidden_size:], value


class Convolutional(BasePolicy):
    """Nature-CNN (Mnih et al. 2015): three conv layers (8x8/4, 4x4/2, 3x3/1) and a linear layer."""

    def __init__(self, env, hidden_size=512, cnn_channels=32):
        super().__init__(env, hidden_size)
        images = ImageObservations(env)
        convs = nn.Sequential(
            layer_init(nn.Conv2d(images.channels, cnn_channels, 8, stride=4)), nn.ReLU(),
            layer_init(nn.Conv2d(cnn_channels, 2 * cnn_channels, 4, stride=2)), nn.ReLU(),
            layer_init(nn.Conv2d(2 * cnn_channels, 2 * cnn_channels, 3, stride=1)), nn.ReLU(),
            nn.Flatten())
        flat_size = conv_output_size(convs, images)
        self.encoder = nn.Sequential(images, convs, layer_init(nn.Linear(flat_size, hidden_size)), nn.ReLU())


MAX_CNN_KERNEL = 64


def parse_board_shape(value):
    """`[policy] board_shape` ('2,6,7': planes, rows, columns) as a tuple of three positive ints."""
    texts = comma_items(value)
    if len(texts) != 3 or not all(text.isdigit() and int(text) >= 1 for text in texts):
        raise ConfigError(f'policy.board_shape = {value!r} is not a board; give planes,rows,columns as three positive '
                          'ints, e.g. 2,6,7 for Connect Four')
    return tuple(int(text) for text in texts)


def parse_cnn_kernel(value):
    """`[policy] cnn_kernel` as (rows, columns): an int n is an n x n square, 'rows,columns' a rectangle (5,4 on
    Connect Four also sees the row under each line of four, i.e. which empty squares can be played next)."""
    texts = comma_items(value)
    if len(texts) not in (1, 2) or not all(text.isdigit() and 1 <= int(text) <= MAX_CNN_KERNEL for text in texts):
        raise ConfigError(f'policy.cnn_kernel = {value!r} is not a filter size; give an int in [1, {MAX_CNN_KERNEL}] '
                          f'(a square) or rows,columns (e.g. 5,4)')
    sizes = [int(text) for text in texts]
    return (sizes[0], sizes[-1])


def parse_cnn_padding(value):
    """`[policy] cnn_padding`: 'same' keeps every layer's maps the board's size, 'valid' puts each filter only where it
    fits (a 4x4 filter on Connect Four's 6x7 board: 3x4 places, every line of four inside one of them)."""
    if value not in ('same', 'valid'):
        raise ConfigError(f'policy.cnn_padding = {value!r} is not a padding; use same or valid')
    return value


class BoardConvolutional(BasePolicy):
    """Board games (Connect Four, Go, checkers) whose flat observation starts with `board_shape` = planes, rows,
    columns of one-hot maps: `cnn_layers` ReLU convolutions of `cnn_channels` filters, `cnn_kernel` squares wide (or
    rows,columns; `cnn_padding` same or valid), read them, so a pattern such as three stones in a row is recognised
    wherever it lies (an MLP has to learn it at every square), then one ReLU layer of `hidden_size` over the
    flattened maps and any observation numbers after the board."""

    def __init__(self, env, board_shape='', hidden_size=128, cnn_channels=32, cnn_layers=2, cnn_kernel=3,
                 cnn_padding='same'):
        super().__init__(env, hidden_size)
        if not board_shape:
            raise ConfigError('base.policy_name = BoardConvolutional needs policy.board_shape = planes,rows,columns '
                              '(e.g. 2,6,7 for puffer_connect4)')
        self.board_shape = parse_board_shape(board_shape)
        self.flat = FlatObservations(env)
        self.board_size = int(np.prod(self.board_shape))
        if self.board_size > self.flat.size:
            raise ConfigError(f'policy.board_shape = {board_shape!r} holds {self.board_size} numbers, more than the '
                              f'{self.flat.size} of a {type(env).__name__} observation')
        if cnn_channels < 1 or cnn_layers < 1:
            raise ConfigError(f'policy.cnn_channels = {cnn_channels} and policy.cnn_layers = {cnn_layers} must both '
                              'be at least 1')
        parse_cnn_padding(cnn_padding)
        kernel = parse_cnn_kernel(cnn_kernel)
        planes, rows, columns = self.board_shape
        trims = [0 if cnn_padding == 'same' else cnn_layers * (size - 1) for size in kernel]  # per valid layer
        if kernel[0] > rows or kernel[1] > columns or rows - trims[0] < 1 or columns - trims[1] < 1:
            square = kernel[0] == kernel[1] and ',' not in str(cnn_kernel)
            use = f'1 .. {min(rows, columns)}' if square else f'1 .. {rows} rows and 1 .. {columns} columns'
            raise ConfigError(f'policy.cnn_kernel = {cnn_kernel} does not fit a {rows}x{columns} board with '
                              f'{cnn_layers} {cnn_padding}-padded layer{"s" * (cnn_layers != 1)}; use {use}'
                              + (' and fewer valid layers' if cnn_padding == 'valid' and cnn_layers > 1 else ''))
        layers, channels = [], planes
        for _ in range(cnn_layers):
            layers += [layer_init(nn.Conv2d(channels, cnn_channels, kernel, padding=cnn_padding)), nn.ReLU()]
            channels = cnn_channels
        self.convs = nn.Sequential(*layers, nn.Flatten())
        rest = self.flat.size - self.board_size
        maps = cnn_channels * (rows - trims[0]) * (columns - trims[1])
        self.encoder = nn.Sequential(layer_init(nn.Linear(maps + rest, hidden_size)), nn.ReLU())

    def encode_observations(self, observations):
        flat = self.flat(observations)
        board = flat[:, :self.board_size].reshape(-1, *self.board_shape)
        return self.encoder(torch.cat([self.convs(board), flat[:, self.board_size:]], dim=1))


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ProcgenResnet(BasePolicy):
    """IMPALA residual network (Espeholt et al. 2018): three stacks of conv, max-pool and two residual blocks."""

    def __init__(self, env, hidden_size=256, cnn_width=16):
        super().__init__(env, hidden_size)
        images = ImageObservations(env)
        stacks, channels = [], images.channels
        for width in (cnn_width, 2 * cnn_width, 2 * cnn_width):
            stacks += [nn.Conv2d(channels, width, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(width), ResidualBlock(width)]
            channels = width
        convs = nn.Sequential(*stacks, nn.ReLU(), nn.Flatten())
        flat_size = conv_output_size(convs, images)
        self.encoder = nn.Sequential(images, convs, layer_init(nn.Linear(flat_size, hidden_size)), nn.ReLU())


def conv_output_size(convs, images):
    with torch.no_grad():
        return convs(torch.zeros(1, images.channels, images.height, images.width)).shape[1]


class RecurrentWrapper(nn.Module):
    """A recurrent core between a policy's encoder and decoder, `num_layers` deep. State is per agent row: a tuple
    of [rows, num_layers * hidden_size] tensors (`state_names`, layer after layer) that the trainer keeps across
    steps and zeroes where that agent's episode ended (terminal or truncation), stepping and replaying alike.

    Subclasses build their first layer as `cell` (the name single-layer LSTMs were saved with) and the others as
    `deeper_cells`, and `step` one time step through them; `sequence` replays a segment (by default one step at a
    time)."""

    is_recurrent = True
    state_names = ()

    def __init__(self, env, policy, input_size, hidden_size, num_layers):
        super().__init__()
        # None: match the policy, so `--rnn-name LSTMWrapper` works with any policy width.
        input_size = policy.hidden_size if input_size is None else input_size
        hidden_size = policy.hidden_size if hidden_size is None else hidden_size
        if input_size != policy.hidden_size or hidden_size != policy.hidden_size:
            raise ConfigError(f'rnn.input_size = {input_size} and rnn.hidden_size = {hidden_size} must both equal '
                              f'policy.hidden_size = {policy.hidden_size}: the {type(self).__name__} reads the '
                              'encoder output and feeds the decoder; set them to the same value')
        if num_layers < 1:
            raise ConfigError(f'rnn.num_layers = {num_layers} must be at least 1')
        self.policy = policy
        self.action_head = policy.action_head
        self.hidden_size = hidden_size
        self.num_layers = num_layers

    def initial_state(self, num_rows, device):
        return tuple(torch.zeros(num_rows, self.num_layers * self.hidden_size, device=device)
                     for _ in self.state_names)

    def forward_step(self, observations, state):
        """One step for a batch of agent rows: returns action parameters, value and the new state."""
        output, state = self.step(self.policy.encode_observations(observations), state)
        params, value = self.policy.decode_actions(output)
        return params, value, state

    def forward_sequence(self, observations, state, episode_starts):
        """Segments [S, T, ...] from their initial state; a row's state is zeroed where episode_starts[s, t] (its
        episode ended before step t). Returns action parameters and values flattened to [S * T]."""
        segments, horizon = episode_starts.shape
        hidden = self.policy.encode_observations(observations.reshape(segments * horizon,
                                                                      *observations.shape[2:]))
        keep = (1 - episode_starts.float()).unsqueeze(-1)
        outputs = self.sequence(hidden.view(segments, horizon, -1), state, keep)
        return self.policy.decode_actions(outputs.reshape(segments * horizon, -1))

    def sequence(self, hidden, state, keep):
        """[S, T, hidden] outputs of a segment, step by step; keep[:, t] is 0 where the state resets before t."""
        outputs = []
        for t in range(hidden.shape[1]):
            output, state = self.step(hidden[:, t], tuple(tensor * keep[:, t] for tensor in state))
            outputs.append(output)
        return torch.stack(outputs, dim=1)

    def split_layers(self, tensor):
        return tensor.chunk(self.num_layers, dim=-1) if self.num_layers > 1 else (tensor,)

    def join_layers(self, tensors):
        return torch.cat(tensors, dim=-1) if self.num_layers > 1 else tensors[0]


def orthogonal_cells(cells):
    """Orthogonal weights and zero biases for recurrent cells, as layer_init gives the feed-forward layers."""
    for name, param in cells.named_parameters():
        if 'weight' in name:
            nn.init.orthogonal_(param, 1.0)
        else:
            nn.init.zeros_(param)
    return cells


def layer_cells(cell_class, size, num_layers, initialize=lambda cells: cells):
    """The first layer's cell (named `cell`, as in models saved before num_layers) and the deeper layers' cells,
    created and initialized in that order."""
    first = initialize(cell_class(size, size))
    return first, initialize(nn.ModuleList(cell_class(size, size) for _ in range(num_layers - 1)))


class LSTMWrapper(RecurrentWrapper):
    """LSTM layers (Hochreiter & Schmidhuber 1997); state (h, c)."""

    state_names = ('lstm_h', 'lstm_c')

    def __init__(self, env, policy, input_size=None, hidden_size=None, num_layers=1):
        super().__init__(env, policy, input_size, hidden_size, num_layers)
        self.cell, self.deeper_cells = layer_cells(nn.LSTMCell, self.hidden_size, num_layers, orthogonal_cells)

    def step(self, x, state):
        hs, cs = [], []
        for cell, h, c in zip([self.cell, *self.deeper_cells], *map(self.split_layers, state)):
            x, c = cell(x, (h, c))
            hs.append(x)
            cs.append(c)
        return x, (self.join_layers(hs), self.join_layers(cs))


class GRUWrapper(RecurrentWrapper):
    """GRU layers (Cho et al. 2014); state (h,): a quarter less compute than an LSTM of the same width."""

    state_names = ('gru_h',)

    def __init__(self, env, policy, input_size=None, hidden_size=None, num_layers=1):
        super().__init__(env, policy, input_size, hidden_size, num_layers)
        self.cell, self.deeper_cells = layer_cells(nn.GRUCell, self.hidden_size, num_layers, orthogonal_cells)

    def step(self, x, state):
        hs = []
        for cell, h in zip([self.cell, *self.deeper_cells], self.split_layers(state[0])):
            x = cell(x, h)
            hs.append(x)
        return x, (self.join_layers(hs),)


class MinGRUCell(nn.Module):
    """minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): h_t = (1 - z_t) * h_{t-1} + z_t * h~_t with
    z_t = sigmoid(W_z x_t) and h~_t = W_h x_t. Neither gate reads h_{t-1}, so a whole segment is one linear
    recurrence h_t = a_t * h_{t-1} + b_t, solved with a parallel scan."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.gates = layer_init(nn.Linear(input_size, 2 * hidden_size), std=1.0)  # z and h~ in one matmul

    def coefficients(self, x):
        """(a, b) of h_t = a_t * h_{t-1} + b_t."""
        gate, candidate = self.gates(x).chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        return 1 - z, z * candidate

    def forward(self, x, h):
        a, b = self.coefficients(x)
        return a * h + b

    def scan(self, x, h, keep):
        """Outputs [S, T, hidden] of inputs x [S, T, input] from state h [S, hidden]; keep[:, t] = 0 zeroes the
        carry into step t (an episode reset), exactly as zeroing the state does when stepping.

        Hillis-Steele inclusive scan of the affine maps h -> a * h + b (composing two is (a1 a2, a2 b1 + b2)):
        log2(T) rounds of elementwise work, no division or log, so a = 0 resets and negative b are exact."""
        a, b = self.coefficients(x)
        a = a * keep
        b = torch.cat([b[:, :1] + a[:, :1] * h.unsqueeze(1), b[:, 1:]], dim=1)  # fold the initial state in
        shift = 1
        while shift < x.shape[1]:
            b = torch.cat([b[:, :shift], b[:, shift:] + a[:, shift:] * b[:, :-shift]], dim=1)
            a = torch.cat([a[:, :shift], a[:, shift:] * a[:, :-shift]], dim=1)
            shift *= 2
        return b


class MinGRUWrapper(RecurrentWrapper):
    """minGRU layers (see MinGRUCell); state (h,). Stepping costs one matmul per layer, and training replays a
    segment with a parallel scan over time instead of a loop of T steps."""

    state_names = ('mingru_h',)

    def __init__(self, env, policy, input_size=None, hidden_size=None, num_layers=1):
        super().__init__(env, policy, input_size, hidden_size, num_layers)
        self.cell, self.deeper_cells = layer_cells(MinGRUCell, self.hidden_size, num_layers)

    def step(self, x, state):
        hs = []
        for cell, h in zip([self.cell, *self.deeper_cells], self.split_layers(state[0])):
            x = cell(x, h)
            hs.append(x)
        return x, (self.join_layers(hs),)

    def sequence(self, hidden, state, keep):
        for cell, h in zip([self.cell, *self.deeper_cells], self.split_layers(state[0])):
            hidden = cell.scan(hidden, h, keep)
        return hidden


RECURRENT_WRAPPERS = ('LSTMWrapper', 'GRUWrapper', 'MinGRUWrapper')


POLICIES = ('Policy', 'ActionFeaturePolicy', 'Convolutional', 'ProcgenResnet', 'BoardConvolutional')


def make_policy(env, policy_name='Policy', rnn_name=None, policy_kwargs=None, rnn_kwargs=None, train=None):
    """Build `[base] policy_name` (wrapped by `rnn_name` if set) for an env's spaces. `train`, the [train] section,
    brings the observation settings (obs_subtract_mean, obs_scale, obs_norm, obs_norm_clip; see ObservationFeatures);
    without it, or at their defaults, the policy reads observations as they are."""
    if policy_name not in POLICIES:
        raise ConfigError(f'base.policy_name = {policy_name!r} is not a policy; valid: {", ".join(POLICIES)}')
    policy = globals()[policy_name](env, **(policy_kwargs or {}))
    set_observation_transform(policy, train or {})
    if rnn_name is None:
        return policy
    if rnn_name not in RECURRENT_WRAPPERS:
        raise ConfigError(f'base.rnn_name = {rnn_name!r} is not a recurrent wrapper; valid: '
                          f'{", ".join(RECURRENT_WRAPPERS)}, None')
    if getattr(policy, 'value_encoder', None) is not None:
        raise ConfigError(f'policy.share_actor_critic = False cannot go under base.rnn_name = {rnn_name} (the '
                          'recurrent core reads one encoder output); set share_actor_critic = True or rnn_name = None')
    if isinstance(policy, ActionFeaturePolicy):
        raise ConfigError(f'base.rnn_name = {rnn_name} cannot wrap ActionFeaturePolicy (its action scores bypass '
                          'the hidden state); use rnn_name = None or another policy')
    return globals()[rnn_name](env, policy, **(rnn_kwargs or {}))


def observation_features(policy):
    """The policy's ObservationFeatures module (where observation normalization happens), or None."""
    return next((module for module in policy.modules() if isinstance(module, ObservationFeatures)), None)


def set_observation_transform(policy, train):
    module = observation_features(policy)
    subtract_mean, scale = float(train.get('obs_subtract_mean', 0.0)), float(train.get('obs_scale', 1.0))
    if module is None:
        if train.get('obs_norm') or subtract_mean != 0.0 or scale != 1.0:
            raise ConfigError(f'train.obs_norm / obs_subtract_mean / obs_scale: {type(policy).__name__} has no '
                              'observation module to normalize in; leave them at False / 0.0 / 1.0')
        return
    module.subtract_mean, module.scale = subtract_mean, scale
    if train.get('obs_norm'):
        from pufferlib.normalize import RunningMeanStd
        module.normalizer = RunningMeanStd(module.feature_shape, train.get('obs_norm_clip', 5.0))
