"""Reward signals (docs/rewards.md): one class per signal behind one small interface, as ML-Agents' reward providers.

    rollout_reward(observations, actions, done)         raw rewards of a chunk of segments [S, T, ...] -> [S, T]
    normalize(rewards, valid)                            the rewards the advantage uses
    rollout_update(observations, actions, done, valid)  learn from one epoch's rollout; returns statistics to log
    value(observations) / train_value(...)               the signal's own critic of its returns
    state_dict / load_state_dict                         everything a resumed run needs

Each signal is configured by its own [reward.<name>] section: `strength` (0: off) and `gamma`, the discount of its
own advantage. The env's reward is the `extrinsic` signal; intrinsic signals (RND, curiosity, GAIL) also carry the
value network that estimates their returns, so the policy and its value head stay exactly as they are. Rewards
follow the rollout layout: slot t holds what arrived with o_t, the outcome of the action taken at t - 1.
"""
import numpy as np
import torch
from torch import nn

from pufferlib import distributed
from pufferlib.normalize import RunningMeanStd

NAMES = ('extrinsic', 'rnd', 'curiosity', 'gail')
OBS_CLIP = 5.0  # Burda et al. 2018 clip normalized observations to [-5, 5]


def mlp(inputs, hidden, outputs, layers=2):
    sizes = [inputs] + [hidden] * layers
    modules = []
    for a, b in zip(sizes, sizes[1:]):
        modules += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*modules, nn.Linear(sizes[-1], outputs))


def image_layout(observation_shape):
    """(channels, height, width, channels_last) of an image observation, else None: three axes, one of them at
    most 4 channels at either end, the other two at least 8 pixels (Atari's [4, 84, 84], an RGB [H, W, 3])."""
    shape = tuple(int(size) for size in observation_shape)
    if len(shape) != 3:
        return None
    if shape[-1] <= 4 < shape[0]:
        channels, height, width, last = shape[2], shape[0], shape[1], True
    else:
        channels, height, width, last = shape[0], shape[1], shape[2], False
    return (channels, height, width, last) if channels <= 4 and min(height, width) >= 8 else None


class ConvTrunk(nn.Module):
    """A small convolutional encoder for image observations, fed the signal's flat normalized inputs: the RND
    paper's strides (8/4, 4/2, 3/1) with a quarter of its channels on frames of 36 pixels or more, two 3 x 3 layers
    on smaller ones. `size` is the number of features it puts out."""

    def __init__(self, layout):
        super().__init__()
        self.channels, self.height, self.width, self.channels_last = layout
        if min(self.height, self.width) >= 36:
            self.layers = nn.Sequential(nn.Conv2d(self.channels, 16, 8, stride=4), nn.ReLU(),
                                        nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
                                        nn.Conv2d(32, 32, 3, stride=1), nn.ReLU(), nn.Flatten())
        else:
            self.layers = nn.Sequential(nn.Conv2d(self.channels, 16, 3, padding=1), nn.ReLU(),
                                        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            self.size = int(self.layers(torch.zeros(1, self.channels, self.height, self.width)).shape[1])

    def forward(self, inputs):
        if self.channels_last:
            images = inputs.view(len(inputs), self.height, self.width, self.channels).permute(0, 3, 1, 2)
        else:
            images = inputs.view(len(inputs), self.channels, self.height, self.width)
        return self.layers(images)


def network(observation_shape, hidden, outputs, layers=2):
    """An MLP on the flat inputs; on image observations a ConvTrunk before it, with one hidden layer."""
    layout = image_layout(observation_shape)
    if layout is None:
        return mlp(int(np.prod(observation_shape)), hidden, outputs, layers)
    trunk = ConvTrunk(layout)
    return nn.Sequential(trunk, mlp(trunk.size, hidden, outputs, layers=1))


def chunks(rows, size, across_ranks=False):
    """Slices of `size` rows over `rows` rows. `across_ranks`: as many as the rank with the most rows needs (the
    others' last ones are empty), since every rank takes part in each chunk's gradient average."""
    count = -(-rows // size)
    if across_ranks:
        count = distributed.max_over_ranks(count)
    return [slice(start * size, (start + 1) * size) for start in range(count)]


def flat_features(observations):
    """[N, *obs_shape] of any dtype -> [N, features] float32 (structured observations count as their raw bytes)."""
    return observations.reshape(len(observations), int(np.prod(observations.shape[1:]))).float()


class Extrinsic:
    """The env's own reward, times `strength`; its advantage is the trainer's usual one, with `gamma`."""
    name = 'extrinsic'

    def __init__(self, strength=1.0, gamma=0.99):
        self.strength, self.gamma = float(strength), float(gamma)

    def reward(self, rewards):
        return rewards * np.float32(self.strength) if self.strength != 1.0 else rewards

    def update(self, observations, valid=None):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class IntrinsicSignal:
    """What every intrinsic signal shares: inputs normalized by running statistics (`obs_stats`), rewards divided by
    the running std of their discounted returns (`return_stats`, `forward_return`) and a critic of those returns.
    `episodic` signals' advantages stop at episode ends; the others run through them (Burda et al. 2018).

    `data_parallel` (set by make_signals when training on several ranks, docs/distributed.md): statistics are
    folded over every rank's batch and gradients averaged over every rank's rows before each step, so the signal's
    networks stay the same on every rank, as the policy's do."""
    name = None
    episodic = False
    data_parallel = False

    def inputs(self, observations):
        return self.obs_stats(flat_features(observations).to(self.obs_stats.mean.device))

    def update_obs_stats(self, features):
        self.obs_stats.update(features, across_ranks=self.data_parallel)

    def step(self, optimizer, rows, *values):
        """optimizer.step() on the gradients of a mean loss over `rows` rows, first averaged over every rank's rows
        when data-parallel; returns `values` averaged alike (in one process, as given)."""
        if self.data_parallel:
            parameters = [p for group in optimizer.param_groups for p in group['params']]
            values = distributed.average_weighted_gradients(parameters, rows, *values).tolist()
        optimizer.step()
        return values

    @torch.no_grad()
    def normalize(self, rewards, valid):
        """Rollout rewards [rows, horizon] divided by the running std of their discounted returns."""
        rows, horizon = rewards.shape
        if self.forward_return is None or self.forward_return.shape[0] != rows:
            self.forward_return = torch.zeros(rows, device=rewards.device)
        returns = torch.empty_like(rewards)
        for step in range(horizon):
            self.forward_return = self.forward_return * self.gamma + rewards[:, step] * valid[:, step]
            returns[:, step] = self.forward_return
        self.return_stats.update(returns.reshape(-1), valid.reshape(-1), across_ranks=self.data_parallel)
        return rewards / self.return_stats.std().float()

    def value(self, observations):
        """The critic's estimate of the signal's return from each observation [N, *obs_shape] -> [N]."""
        return self.critic(self.inputs(observations)).squeeze(-1)

    def train_value(self, observations, returns, valid):
        """One Adam step of the critic on 0.5 (V - R)^2 over the valid steps; returns the loss."""
        error = 0.5 * (self.value(observations) - returns.reshape(-1)).pow(2)
        weights = valid.reshape(-1)
        loss = (error * weights).sum() / weights.sum().clamp(min=1)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.step(self.critic_optimizer, weights.sum())
        return loss.detach()

    def state_dict(self):
        return dict(networks=self.networks.state_dict(), optimizer=self.optimizer.state_dict(),
                    critic_optimizer=self.critic_optimizer.state_dict(),
                    forward_return=None if self.forward_return is None else self.forward_return.cpu())

    def load_state_dict(self, state):
        self.networks.load_state_dict(state['networks'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.critic_optimizer.load_state_dict(state['critic_optimizer'])
        saved = state.get('forward_return')
        self.forward_return = None if saved is None else saved.to(self.obs_stats.mean.device)


class RND(IntrinsicSignal):
    """Random Network Distillation (Burda et al. 2018, arXiv:1810.12894).

    A fixed, randomly initialized target network f and a predictor f^ trained to match it on the observations seen;
    the intrinsic reward of o is the prediction error ||f^(o) - f(o)||^2, high on observations seen rarely. Inputs
    are normalized by running statistics and clipped to [-5, 5]; rewards are divided by the running std of the
    intrinsic returns (a discounted sum carried per segment row across epochs, never reset: RND is non-episodic).
    `value` is a separate MLP critic of the intrinsic return, trained by the trainer with `train_value`."""
    name = 'rnd'

    def __init__(self, observation_shape, strength=0.01, gamma=0.99, hidden_size=64, output_size=64,
                 learning_rate=1e-3, device='cpu'):
        self.strength, self.gamma = float(strength), float(gamma)
        features = 1
        for size in observation_shape:
            features *= int(size)
        self.obs_stats = RunningMeanStd((features,), clip=OBS_CLIP)
        self.return_stats = RunningMeanStd()
        self.target = network(observation_shape, hidden_size, output_size)
        self.predictor = network(observation_shape, hidden_size, output_size)
        self.critic = network(observation_shape, hidden_size, 1)
        for parameter in self.target.parameters():
            parameter.requires_grad_(False)
        self.networks = nn.ModuleDict(dict(obs_stats=self.obs_stats, return_stats=self.return_stats,
                                           target=self.target, predictor=self.predictor, critic=self.critic))
        self.networks.to(device)
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=learning_rate)
        self.forward_return = None  # [rows]: the running discounted intrinsic return per segment row

    def errors(self, observations):
        inputs = self.inputs(observations)
        return (self.predictor(inputs) - self.target(inputs)).pow(2).mean(-1)

    @torch.no_grad()
    def reward(self, observations):
        """Raw prediction error of each observation [N, *obs_shape] -> [N] (not yet normalized)."""
        if self.obs_stats.count == 0:  # the first batch sets the scale (Burda et al. warm it up the same way)
            self.update_obs_stats(flat_features(observations))
        return self.errors(observations)

    def update(self, observations, valid=None, minibatch=4096):
        """Fold the epoch's observations into the input statistics, then one pass of predictor training over them."""
        flat = flat_features(observations)
        if valid is not None:
            flat = flat[valid.reshape(-1).to(flat.device) > 0]
        self.update_obs_stats(flat)
        total = 0.0
        for part in chunks(len(flat), minibatch, self.data_parallel):
            batch = flat[part]
            self.optimizer.zero_grad(set_to_none=True)
            if len(batch):  # data-parallel, a rank with fewer rows has empty chunks: it takes part with no gradient
                loss = self.errors(batch).mean()
                loss.backward()
                total += loss.item() * len(batch)
            self.step(self.optimizer, len(batch))
        return {'rnd_predictor_loss': total / max(len(flat), 1)}

    @torch.no_grad()
    def rollout_reward(self, observations, actions, done):
        """Step t's reward is the novelty of o_t [S, T, ...] -> [S, T]."""
        return self.reward(observations.reshape(-1, *observations.shape[2:])).view(observations.shape[:2])

    def rollout_update(self, observations, actions, done, valid):
        return self.update(observations.reshape(-1, *observations.shape[2:]), valid)


class ActionCoding:
    """Actions as model inputs and targets: one-hot per dimension for Discrete / MultiDiscrete, raw floats for Box."""

    def __init__(self, action_space):
        from gymnasium import spaces
        if isinstance(action_space, spaces.Discrete):
            self.nvec = [int(action_space.n)]
        elif isinstance(action_space, spaces.MultiDiscrete):
            self.nvec = [int(n) for n in np.asarray(action_space.nvec).reshape(-1)]
        elif isinstance(action_space, spaces.Box):
            self.nvec = None
            self.width = int(np.prod(action_space.shape))
        else:
            raise TypeError(f'reward signals cannot read {type(action_space).__name__} actions (valid: Discrete, '
                            'MultiDiscrete, Box)')
        if self.nvec is not None:
            self.width = sum(self.nvec)

    def features(self, actions):
        """[N, *action_shape] -> [N, width] floats."""
        actions = actions.reshape(len(actions), -1)
        if self.nvec is None:
            return actions.float()
        return torch.cat([nn.functional.one_hot(actions[:, d].long().clamp(0, n - 1), n).float()
                          for d, n in enumerate(self.nvec)], dim=-1)

    def loss(self, predicted, actions):
        """Per-sample loss of predicting `actions` from `predicted` [N, width]: summed cross-entropies, or MSE."""
        actions = actions.reshape(len(actions), -1)
        if self.nvec is None:
            return (predicted - actions.float()).pow(2).mean(-1)
        parts = torch.split(predicted, self.nvec, dim=-1)
        return sum(nn.functional.cross_entropy(part, actions[:, d].long(), reduction='none')
                   for d, part in enumerate(parts))


def transitions(observations, actions, done):
    """The transitions inside segments [S, T, ...]: o_t, a_t, o_t+1 for t < T - 1, flattened, and whether each is a
    real one (o_t+1 did not start a new episode)."""
    current = observations[:, :-1].reshape(-1, *observations.shape[2:])
    following = observations[:, 1:].reshape(-1, *observations.shape[2:])
    taken = actions[:, :-1].reshape(-1, *actions.shape[2:])
    return current, taken, following, (1 - done[:, 1:].float()).reshape(-1)


class Curiosity(IntrinsicSignal):
    """Intrinsic Curiosity Module (Pathak et al. 2017, arXiv:1705.05363).

    An encoder phi maps (normalized) observations to `encoding_size` features; an inverse model predicts a_t from
    phi(o_t), phi(o_t+1), which shapes phi to keep what the agent's actions affect; a forward model predicts
    phi(o_t+1) from phi(o_t) and a_t. The intrinsic reward of a transition is the forward model's error
    0.5 ||f(phi(o_t), a_t) - phi(o_t+1)||^2, high where the agent cannot yet predict the outcome of its action; it
    goes to slot t + 1 (the outcome of the action at t), normalized like RND's. Transitions into a new episode
    (o_t+1 is a reset) get no reward and are not trained on. Loss: (1 - beta) inverse + beta forward, beta = 0.2."""
    name = 'curiosity'
    forward_weight = 0.2  # Pathak et al.'s beta

    def __init__(self, observation_shape, action_space, strength=0.1, gamma=0.99, encoding_size=64, hidden_size=128,
                 learning_rate=3e-4, device='cpu'):
        self.strength, self.gamma = float(strength), float(gamma)
        self.coding = ActionCoding(action_space)
        features = int(np.prod(observation_shape))
        self.obs_stats = RunningMeanStd((features,), clip=OBS_CLIP)
        self.return_stats = RunningMeanStd()
        self.encoder = network(observation_shape, hidden_size, encoding_size, layers=1)
        if image_layout(observation_shape) is not None:  # bounded features (Burda et al. 2018b normalize theirs too)
            self.encoder.append(nn.LayerNorm(encoding_size, elementwise_affine=False))
        self.inverse = mlp(2 * encoding_size, hidden_size, self.coding.width, layers=1)
        self.forward_model = mlp(encoding_size + self.coding.width, hidden_size, encoding_size, layers=1)
        self.critic = network(observation_shape, hidden_size, 1)
        self.networks = nn.ModuleDict(dict(obs_stats=self.obs_stats, return_stats=self.return_stats,
                                           encoder=self.encoder, inverse=self.inverse,
                                           forward_model=self.forward_model, critic=self.critic))
        self.networks.to(device)
        model = [*self.encoder.parameters(), *self.inverse.parameters(), *self.forward_model.parameters()]
        self.optimizer = torch.optim.Adam(model, lr=learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=learning_rate)
        self.forward_return = None

    def losses(self, current, actions, following):
        """Per-transition forward error and inverse loss [N] each."""
        device = self.obs_stats.mean.device
        features = self.encoder(self.inputs(current))
        next_features = self.encoder(self.inputs(following))
        actions = actions.to(device)
        inverse = self.coding.loss(self.inverse(torch.cat([features, next_features], -1)), actions)
        predicted = self.forward_model(torch.cat([features, self.coding.features(actions)], -1))
        forward = 0.5 * (predicted - next_features.detach()).pow(2).sum(-1)
        return forward, inverse

    @torch.no_grad()
    def reward(self, current, actions, following):
        """Raw forward error of each transition (o_t, a_t, o_t+1) -> [N] (not yet normalized)."""
        if self.obs_stats.count == 0:
            self.update_obs_stats(flat_features(current))
        return self.losses(current, actions, following)[0]

    @torch.no_grad()
    def rollout_reward(self, observations, actions, done):
        current, taken, following, real = transitions(observations, actions, done)
        rewards = torch.zeros(observations.shape[:2], device=self.obs_stats.mean.device)
        rewards[:, 1:] = (self.reward(current, taken, following) * real.to(rewards.device)).view(len(rewards), -1)
        return rewards

    def update(self, current, actions, following, minibatch=4096):
        """Fold the observations into the input statistics, then one pass of training over the transitions (none in
        envs whose episodes last one step: every transition then leads into a new episode)."""
        self.update_obs_stats(flat_features(current))
        sums = torch.zeros(2)
        for part in chunks(len(current), minibatch, self.data_parallel):
            rows = len(current[part])
            self.optimizer.zero_grad(set_to_none=True)
            if rows:  # as in RND.update
                forward, inverse = (x.mean() for x in self.losses(current[part], actions[part], following[part]))
                loss = (1 - self.forward_weight) * inverse + self.forward_weight * forward
                loss.backward()
                sums += torch.stack([forward, inverse]).detach().cpu() * rows
            self.step(self.optimizer, rows)
        sums /= max(len(current), 1)
        return {'curiosity_forward_loss': sums[0].item(), 'curiosity_inverse_loss': sums[1].item()}

    def rollout_update(self, observations, actions, done, valid):
        current, taken, following, real = transitions(observations, actions, done)
        keep = (real * valid[:, :-1].reshape(-1).to(real.device)) > 0
        keep = keep.to(current.device)
        return self.update(current[keep], taken[keep.to(taken.device)], following[keep])


class GAIL(IntrinsicSignal):
    """Generative Adversarial Imitation Learning (Ho & Ermon 2016, arXiv:1606.03476).

    A discriminator D learns to tell the demonstrations' (observation[, action]) pairs (label 1) from the policy's
    (label 0); the policy is rewarded -log(1 - D(o_t[, a_t])) (= softplus of D's logit), high where it looks like the
    expert, at slot t + 1. With `use_vail` the discriminator sees the input through a variational bottleneck
    (Peng et al. 2018, arXiv:1810.00821): z ~ N(mu, sigma) of size `encoding_size`, its KL to N(0, 1) held near
    0.5 nats by a dual-ascent weight beta. GAIL rewards are not normalized (as ML-Agents'), so `strength` weighs them
    against the extrinsic reward directly. Its advantage is non-episodic: -log(1 - D) is always positive, so an
    episodic one would pay the policy for making episodes last (avoiding a goal the expert reaches) rather than for
    acting like the expert; running on into the next episode makes ending one neutral (the bias Kostrikov et al.
    2018, arXiv:1809.02925, fix with absorbing states)."""
    name = 'gail'
    episodic = False
    information_target = 0.5  # nats: VAIL's I_c
    beta_rate = 1e-5          # VAIL's dual step size

    def __init__(self, observation_shape, action_space, demos, strength=1.0, gamma=0.99, encoding_size=64,
                 hidden_size=128, learning_rate=3e-4, use_actions=False, use_vail=False, gradient_penalty=0.0,
                 device='cpu'):
        self.strength, self.gamma = float(strength), float(gamma)
        self.use_actions, self.use_vail = bool(use_actions), bool(use_vail)
        self.gradient_penalty = float(gradient_penalty)
        self.coding = ActionCoding(action_space)
        features = int(np.prod(observation_shape))
        self.obs_stats = RunningMeanStd((features,), clip=OBS_CLIP)
        self.return_stats = RunningMeanStd()
        layout = image_layout(observation_shape)
        self.trunk = None if layout is None else ConvTrunk(layout)  # on images: conv features, then the MLP
        inputs = (features if self.trunk is None else self.trunk.size) + (self.coding.width if self.use_actions else 0)
        self.body = nn.Sequential(nn.Linear(inputs, hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size),
                                  nn.ReLU())
        self.mean = nn.Linear(hidden_size, encoding_size)
        self.log_std = nn.Linear(hidden_size, encoding_size)
        self.output = nn.Linear(encoding_size, 1)
        self.critic = network(observation_shape, hidden_size, 1)
        modules = dict(obs_stats=self.obs_stats, return_stats=self.return_stats, body=self.body, mean=self.mean,
                       log_std=self.log_std, output=self.output, critic=self.critic)
        if self.trunk is not None:
            modules['trunk'] = self.trunk
        self.networks = nn.ModuleDict(modules)
        self.networks.to(device)
        self.register_beta = torch.zeros((), device=device)  # VAIL's beta, saved with the optimizer state
        model = [*self.body.parameters(), *self.mean.parameters(), *self.output.parameters()]
        if self.trunk is not None:
            model += list(self.trunk.parameters())
        if self.use_vail:
            model += list(self.log_std.parameters())
        self.optimizer = torch.optim.Adam(model, lr=learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=learning_rate)
        self.forward_return = None
        self.demo_observations = torch.as_tensor(demos.observations).to(device)
        self.demo_actions = torch.as_tensor(demos.actions).to(device)
        self.obs_stats.update(flat_features(self.demo_observations))  # the expert's states set the input scale

    def discriminator_inputs(self, observations, actions):
        """What D sees: the normalized flat observations [N, features] and the action features [N, width] (None
        without use_actions), the space the gradient penalty interpolates in."""
        inputs = self.inputs(observations)
        if not self.use_actions:
            return inputs, None
        return inputs, self.coding.features(actions.to(inputs.device)).to(inputs.dtype)

    def logits(self, observations, actions, sample=False):
        """D's logit of each (observation[, action]) [N]; with VAIL also the KL of each code [N]."""
        return self.discriminate(*self.discriminator_inputs(observations, actions), sample=sample)

    def discriminate(self, inputs, action_features=None, sample=False):
        if self.trunk is not None:
            inputs = self.trunk(inputs)
        if action_features is not None:
            inputs = torch.cat([inputs, action_features], -1)
        hidden = self.body(inputs)
        mean = self.mean(hidden)
        if not self.use_vail:
            return self.output(mean).squeeze(-1), None
        log_std = self.log_std(hidden).clamp(-10, 2)
        code = mean + log_std.exp() * torch.randn_like(mean) if sample else mean
        kl = 0.5 * (mean.pow(2) + (2 * log_std).exp() - 2 * log_std - 1).sum(-1)
        return self.output(code).squeeze(-1), kl

    @torch.no_grad()
    def reward(self, observations, actions):
        """-log(1 - D) of each (observation, action) [N]."""
        return nn.functional.softplus(self.logits(observations, actions)[0])

    @torch.no_grad()
    def rollout_reward(self, observations, actions, done):
        rewards = torch.zeros(observations.shape[:2], device=self.obs_stats.mean.device)
        current = observations[:, :-1].reshape(-1, *observations.shape[2:])
        taken = actions[:, :-1].reshape(-1, *actions.shape[2:])
        rewards[:, 1:] = self.reward(current, taken).view(len(rewards), -1)
        return rewards

    @torch.no_grad()
    def normalize(self, rewards, valid):
        return rewards

    def penalty(self, expert_inputs, policy_inputs, generator=None):
        """Mean (||grad D(x)|| - 1)^2 at points x drawn uniformly on the segments between expert and policy inputs
        (observation and action features together), D the probability (WGAN-GP, Gulrajani et al. 2017,
        arXiv:1704.00028, as ML-Agents' GAIL): keeps D smooth, so its reward does not jump between nearby states."""
        count = len(expert_inputs[0])
        mix = torch.rand(count, 1, generator=generator).to(expert_inputs[0].device)
        points = [(mix * e + (1 - mix) * p).detach().requires_grad_(True) for e, p in
                  zip(expert_inputs, policy_inputs) if e is not None]
        probability = torch.sigmoid(self.discriminate(*points)[0])
        gradients = torch.autograd.grad(probability.sum(), points, create_graph=True)
        norm = (sum(g.pow(2).sum(-1) for g in gradients) + 1e-12).sqrt()
        return (norm - 1).pow(2).mean()

    def discriminator_loss(self, policy_obs, policy_actions, expert_obs, expert_actions, generator=None):
        """Binary cross-entropy (expert 1, policy 0), plus with VAIL beta (KL - I_c), plus the weighted gradient
        penalty; returns (loss, stats)."""
        expert_inputs = self.discriminator_inputs(expert_obs.to(policy_obs.device),
                                                  expert_actions.to(policy_actions.device))
        policy_inputs = self.discriminator_inputs(policy_obs, policy_actions)
        joined = [None if e is None else torch.cat([e, p]) for e, p in zip(expert_inputs, policy_inputs)]
        logits, kl = self.discriminate(*joined, sample=self.use_vail)
        labels = torch.cat([torch.ones(len(expert_obs)), torch.zeros(len(policy_obs))]).to(logits.device)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
        probability = torch.sigmoid(logits.detach())
        stats = dict(gail_expert_estimate=probability[:len(expert_obs)].mean().item(),
                     gail_policy_estimate=probability[len(expert_obs):].mean().item())
        if kl is not None:
            kl = kl.mean()
            loss = loss + self.register_beta * (kl - self.information_target)
            stats['gail_kl'] = kl.item()
        if self.gradient_penalty > 0:
            penalty = self.penalty(expert_inputs, policy_inputs, generator)
            loss = loss + self.gradient_penalty * penalty
            stats['gail_gradient_penalty'] = penalty.item()
        return loss, stats

    def update(self, policy_obs, policy_actions, minibatch=1024, generator=None):
        """One pass over the policy's samples, each minibatch against as many demonstration samples drawn at random."""
        totals, count = {}, 0
        order = torch.randperm(len(policy_obs), generator=generator)
        for part in chunks(len(policy_obs), minibatch, self.data_parallel):
            index = order[part].to(policy_obs.device)
            self.optimizer.zero_grad(set_to_none=True)
            stats = {}
            if len(index):  # as in RND.update
                expert = torch.randint(len(self.demo_observations), (len(index),), generator=generator)
                expert = expert.to(self.demo_observations.device)
                loss, stats = self.discriminator_loss(policy_obs[index], policy_actions[index],
                                                      self.demo_observations[expert], self.demo_actions[expert],
                                                      generator)
                loss.backward()
                stats['gail_loss'] = loss.item()
            # Data-parallel, beta follows the KL over every rank's rows, so that it stays the same everywhere.
            kl = self.step(self.optimizer, len(index), *([stats.get('gail_kl', 0.0)] if self.use_vail else []))
            if self.use_vail:  # dual ascent: raise beta while the code carries more than I_c nats
                self.register_beta.add_(self.beta_rate * (kl[0] - self.information_target)).clamp_(min=0)
                stats['gail_beta'] = self.register_beta.item()
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
            count += len(index)
        return {key: value / max(count, 1) for key, value in totals.items()}

    def rollout_update(self, observations, actions, done, valid):
        keep = valid.reshape(-1) > 0
        flat = observations.reshape(-1, *observations.shape[2:])
        return self.update(flat[keep.to(flat.device)], actions.reshape(-1, *actions.shape[2:])[keep])

    def state_dict(self):
        return dict(super().state_dict(), beta=self.register_beta.cpu())

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.register_beta.copy_(state['beta'])


def make_signals(config, observation_shape, device, action_space=None, observation_space=None):
    """(extrinsic, [intrinsic signals with strength > 0]) from a config's [reward.*] sections."""
    train = config['train']
    extrinsic_config = config.get('reward.extrinsic', {})
    gamma = extrinsic_config.get('gamma', 'auto')
    extrinsic = Extrinsic(extrinsic_config.get('strength', 1.0), train['gamma'] if gamma == 'auto' else gamma)
    intrinsic = []
    rnd = config.get('reward.rnd', {})
    if rnd.get('strength', 0.0) > 0:
        intrinsic.append(RND(observation_shape, rnd['strength'], rnd['gamma'], rnd['hidden_size'],
                             rnd['output_size'], rnd['learning_rate'], device))
    curiosity = config.get('reward.curiosity', {})
    if curiosity.get('strength', 0.0) > 0:
        intrinsic.append(Curiosity(observation_shape, action_space, curiosity['strength'], curiosity['gamma'],
                                   curiosity['encoding_size'], curiosity['hidden_size'], curiosity['learning_rate'],
                                   device))
    gail = config.get('reward.gail', {})
    if gail.get('strength', 0.0) > 0:
        from pufferlib import demos
        recorded = demos.load_for_config(gail.get('demo_path'), 'reward.gail.demo_path', observation_space,
                                         action_space)
        intrinsic.append(GAIL(observation_shape, action_space, recorded, gail['strength'], gail['gamma'],
                              gail['encoding_size'], gail['hidden_size'], gail['learning_rate'], gail['use_actions'],
                              gail['use_vail'], gail.get('gradient_penalty', 0.0), device))
    if distributed.active():  # every rank starts from rank 0's networks and keeps them in step (see IntrinsicSignal)
        for signal in intrinsic:
            signal.data_parallel = True
            distributed.broadcast_module(signal.networks)
    return extrinsic, intrinsic
