"""The training dashboard shows what the run logs: losses for one policy or for each of several."""
import io

from rich.console import Console

from pufferlib.dashboard import Dashboard


def snapshot(losses):
    return dict(epoch=3, global_step=4096, total_timesteps=10_000, sps=1234.0, uptime=5.0, remaining=7.0,
                profile=dict(env=1.0, inference=0.5, copy=0.1, learn=2.0), losses=losses, stats={'score': 0.5})


def rendered(losses):
    dashboard = Dashboard('puffer_connect4', live=False, file=io.StringIO())
    console = Console(file=io.StringIO(), width=160)
    console.print(dashboard.render(snapshot(losses)))
    return console.file.getvalue(), dashboard.line(snapshot(losses))


def test_one_policy_shows_its_losses():
    view, line = rendered({'policy_loss': -0.0125, 'value_loss': 0.75, 'entropy': 1.5})
    assert 'policy_loss' in view and '-0.0125' in view and '0.75' in view and 'policy 0' not in view
    assert 'value_loss 0.75' in line


def test_several_policies_each_get_a_column():
    view, line = rendered({'policy0/loss/policy_loss': -0.0125, 'policy0/loss/value_loss': 0.75,
                           'policy1/loss/policy_loss': 0.0375, 'policy1/loss/value_loss': 2.25,
                           'policy1/reward/rnd': 9.0})
    header = next(text for text in view.splitlines() if 'loss' in text and 'policy 1' in text)
    assert 'policy 0' in header
    value_row = next(text for text in view.splitlines() if 'value_loss' in text)
    assert '0.75' in value_row and '2.25' in value_row
    assert 'policy 1 value_loss 2.25' in line and 'policy 0 policy_loss -0.0125' in line
