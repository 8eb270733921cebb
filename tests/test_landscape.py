"""Loss landscapes of the network: directions, lines, planes, PCA and the whole experiment."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import landscape, nn

SMALL = {
    "n": 60,
    "hidden": (4,),
    "steps": 40,
    "grid": 9,
    "optimizer": "adam",
    "learning_rate": 0.05,
}


@pytest.fixture(scope="module")
def exp() -> landscape.Experiment:
    return landscape.experiment(**SMALL)


def _loss_many(net, data):
    return lambda thetas: nn.loss(net, thetas, data.x, data.y)


# --- filter-normalised directions -------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    hidden=st.sampled_from([(1,), (3,), (8,), (4, 5), (32, 2)]),
    scale=st.floats(1e-3, 1e3),
)
def test_each_filter_of_the_direction_has_the_norm_of_the_weights_filter(seed, hidden, scale):
    net = nn.MLP(hidden)
    theta = scale * np.random.default_rng(seed).standard_normal(net.n_params)
    d = landscape.filter_normalized_direction(theta, net.filters(), np.random.default_rng(seed + 1))
    for f in net.filters():
        assert np.linalg.norm(d[f]) == pytest.approx(np.linalg.norm(theta[f]), rel=1e-9)


def test_direction_is_zero_on_the_biases():
    net = nn.MLP((4, 3))
    theta = np.random.default_rng(0).standard_normal(net.n_params)
    d = landscape.filter_normalized_direction(theta, net.filters(), np.random.default_rng(1))
    for _, b in net.layers(d):
        np.testing.assert_array_equal(b, 0.0)


def test_direction_is_zero_where_the_weights_filter_is_zero():
    net = nn.MLP((3,))
    theta = np.ones(net.n_params)
    theta[net.filters()[0]] = 0.0
    d = landscape.filter_normalized_direction(theta, net.filters(), np.random.default_rng(1))
    np.testing.assert_array_equal(d[net.filters()[0]], 0.0)


# --- lines and planes ---------------------------------------------------------------------------


def test_interpolation_at_zero_is_the_initial_loss_and_at_one_the_trained_loss(exp):
    line = exp.interpolation
    at = {a: int(np.argmin(np.abs(line.alpha - a))) for a in (0.0, 1.0)}
    assert line.alpha[at[0.0]] == pytest.approx(0.0, abs=1e-12)
    assert line.loss[at[0.0]] == pytest.approx(exp.training.loss[0], rel=1e-9)
    assert line.loss[at[1.0]] == pytest.approx(exp.training.loss[-1], rel=1e-9)


def test_interpolation_spans_minus_half_to_one_and_a_half(exp):
    assert (exp.interpolation.alpha[0], exp.interpolation.alpha[-1]) == landscape.ALPHA_RANGE


def test_random_plane_centre_is_the_trained_loss(exp):
    plane = exp.random_plane
    i, j = len(plane.b) // 2, len(plane.a) // 2
    assert (plane.a[j], plane.b[i]) == (0.0, 0.0)
    assert plane.loss[i, j] == pytest.approx(exp.training.loss[-1], rel=1e-9)


def test_random_plane_spans_minus_one_to_one(exp):
    assert (exp.random_plane.a[0], exp.random_plane.a[-1]) == (-1.0, 1.0)


def test_plane_loss_equals_the_loss_at_each_grid_point(monkeypatch):
    net = nn.MLP((3,))
    data = nn.make_dataset("xor", n=20)
    rng = np.random.default_rng(0)
    center, dirs = rng.standard_normal(net.n_params), rng.standard_normal((2, net.n_params))
    a, b = np.linspace(-1, 1, 4), np.linspace(-2, 2, 3)
    monkeypatch.setattr(landscape, "_STACK_FLOATS", 1)  # one grid row at a time
    grid = landscape.plane_loss(_loss_many(net, data), center, dirs, a, b)
    expected = [
        [nn.loss(net, center + u * dirs[0] + v * dirs[1], data.x, data.y) for u in a] for v in b
    ]
    np.testing.assert_allclose(grid, expected, rtol=1e-12)


def test_interpolate_evaluates_the_straight_line():
    loss_many = lambda thetas: np.sum(thetas**2, axis=1)  # noqa: E731
    values = landscape.interpolate(loss_many, np.zeros(3), np.ones(3), np.array([-1.0, 0.5, 2.0]))
    np.testing.assert_allclose(values, [3.0, 0.75, 12.0])


# --- PCA of the trajectory ----------------------------------------------------------------------


def _trajectory(seed=0, points=30, dim=12):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, points)[:, None]
    return (
        rng.standard_normal(dim)
        + t * rng.standard_normal(dim)
        + (t**2) * rng.standard_normal(dim)
        + 0.01 * rng.standard_normal((points, dim))
    )


def test_explained_variance_ratios_lie_in_unit_interval_and_sum_to_at_most_one():
    ratio = landscape.pca_directions(_trajectory()).explained_variance_ratio
    assert np.all((ratio >= 0) & (ratio <= 1)) and ratio.sum() <= 1 + 1e-12


def test_explained_variance_ratio_is_the_share_of_the_covariance_eigenvalues():
    traj = _trajectory(seed=4)
    m = traj[:-1] - traj[-1]
    eig = np.sort(np.linalg.eigvalsh(np.cov(m.T)))[::-1]
    ratio = landscape.pca_directions(traj).explained_variance_ratio
    np.testing.assert_allclose(ratio, eig[:2] / eig.sum(), rtol=1e-8)


def test_final_point_projects_to_the_origin():
    coords = landscape.pca_directions(_trajectory()).coords
    np.testing.assert_array_equal(coords[-1], [0.0, 0.0])


def test_pca_directions_are_orthonormal():
    d = landscape.pca_directions(_trajectory(seed=2)).directions
    np.testing.assert_allclose(d @ d.T, np.eye(2), atol=1e-12)


def test_straight_trajectory_is_all_first_component():
    traj = np.linspace(0, 1, 20)[:, None] * np.arange(1.0, 6.0)
    ratio = landscape.pca_directions(traj).explained_variance_ratio
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-12)


def test_start_has_non_negative_coordinates():
    assert np.all(landscape.pca_directions(_trajectory(seed=7)).coords[0] >= 0)


@pytest.mark.parametrize("points", [1, 2])
def test_too_short_trajectory_still_gives_two_orthonormal_directions(points):
    pca = landscape.pca_directions(np.arange(points * 5.0).reshape(points, 5))
    np.testing.assert_allclose(pca.directions @ pca.directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_array_equal(pca.explained_variance_ratio, [0.0, 0.0])


def test_pca_plane_path_ends_at_the_trained_weights(exp):
    plane = exp.pca_plane
    np.testing.assert_array_equal(plane.path[-1], [0.0, 0.0])
    assert plane.path_steps[-1] == len(exp.training.loss) - 1
    assert plane.path_loss[-1] == exp.training.loss[-1]


def test_pca_plane_covers_the_whole_path(exp):
    plane = exp.pca_plane
    assert plane.a[0] < plane.path[:, 0].min() and plane.path[:, 0].max() < plane.a[-1]
    assert plane.b[0] < plane.path[:, 1].min() and plane.path[:, 1].max() < plane.b[-1]


# --- grid caps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "used"), [(10**6, 81), (40, 41), (41, 41), (1, 5), (-3, 5)])
def test_grid_is_capped_and_odd(asked, used):
    assert landscape.affordable_grid(nn.MLP((2,)), 10, asked) == used


def test_grid_is_lowered_for_the_largest_network_and_data():
    net = nn.MLP((nn.MAX_WIDTH, nn.MAX_WIDTH))
    g = landscape.affordable_grid(net, nn.MAX_ROWS, 10**6)
    macs = sum(o * i for o, i in net.shapes)
    per_point = nn.MAX_ROWS * (macs + landscape.ACTIVATION_WORK * 2 * nn.MAX_WIDTH)
    assert g % 2 == 1 and g < landscape.MAX_GRID
    assert g**2 * per_point <= landscape.MAX_PLANE_WORK


def test_random_plane_caps_a_huge_grid():
    plane = landscape.random_plane(
        lambda thetas: np.zeros(len(thetas)), np.ones(4), [slice(0, 2)], grid=10**9
    )
    assert plane.loss.shape == (landscape.MAX_GRID, landscape.MAX_GRID)


# --- the experiment -----------------------------------------------------------------------------


def test_same_settings_give_the_same_experiment(exp):
    again = landscape.experiment(**SMALL)
    np.testing.assert_array_equal(again.training.snapshots, exp.training.snapshots)
    np.testing.assert_array_equal(again.random_plane.loss, exp.random_plane.loss)
    np.testing.assert_array_equal(again.pca_plane.loss, exp.pca_plane.loss)


def test_other_seed_gives_another_experiment(exp):
    other = landscape.experiment(**{**SMALL, "seed": 1})
    assert not np.allclose(other.data.x, exp.data.x)
    assert not np.allclose(other.random_plane.loss, exp.random_plane.loss)


def test_settings_record_the_capped_sizes():
    e = landscape.experiment(
        n=10**7,
        hidden=(10**4,),
        steps=3,
        grid=5,
        batch=10**9,
        optimizer="sgd",
        learning_rate=0.1,
        activation="relu",
    )
    s = e.settings
    assert (s["n"], s["hidden"], s["steps"], s["batch"]) == (
        nn.MAX_ROWS,
        (nn.MAX_WIDTH,),
        3,
        nn.MAX_ROWS,
    )


def test_experiment_caps_a_huge_grid():
    e = landscape.experiment(n=8, hidden=(1,), steps=2, grid=10**9)
    assert e.settings["grid"] == landscape.MAX_GRID
    assert e.random_plane.loss.shape == e.pca_plane.loss.shape == (81, 81)


def test_training_reduces_the_loss_in_the_experiment(exp):
    assert exp.training.loss[-1] < exp.training.loss[0]


def test_decision_map_covers_every_data_point(exp):
    d = exp.decision
    assert d.x[0] < exp.data.x[:, 0].min() and exp.data.x[:, 0].max() < d.x[-1]
    assert d.y[0] < exp.data.x[:, 1].min() and exp.data.x[:, 1].max() < d.y[-1]
    assert np.all((d.proba >= 0) & (d.proba <= 1))


def test_divergent_training_is_reported_and_leaves_finite_landscapes():
    e = landscape.experiment(**{**SMALL, "optimizer": "sgd", "learning_rate": 1e9})
    assert e.training.diverged_at == 1
    assert "diverged at step 1" in e.message
    for values in (e.interpolation.loss, e.random_plane.loss, e.pca_plane.loss, e.pca_plane.path):
        assert np.all(np.isfinite(values))


def test_zero_steps_still_gives_every_view():
    e = landscape.experiment(**{**SMALL, "steps": 0})
    assert e.pca_plane.loss.shape == (9, 9)
    np.testing.assert_array_equal(e.pca_plane.explained_variance_ratio, [0.0, 0.0])


def test_every_registry_optimizer_but_newton_can_train(exp):
    assert "newton" not in landscape.OPTIMIZER_NAMES
    for name in landscape.OPTIMIZER_NAMES:
        assert landscape.make_optimizer(name, 0.01).learning_rate == 0.01


@pytest.mark.parametrize("name", ["newton", "lbfgs"])
def test_optimizer_outside_the_list_is_rejected(name):
    with pytest.raises(ValueError, match=name):
        landscape.make_optimizer(name, 0.1)


def test_caution_says_the_slice_is_a_projection(exp):
    assert "projection" in exp.caution and str(exp.net.n_params) in exp.caution


# ------------------------------------------------------------------------------ opening configs


def _boundary_bend(e: landscape.Experiment) -> float:
    """RMS distance of the P = ½ boundary from its best straight line, in data units."""
    d, points = e.decision, []
    for j, x in enumerate(d.x):
        side = d.proba[:, j] - 0.5
        for i in np.flatnonzero(np.sign(side[1:]) != np.sign(side[:-1])):
            t = side[i] / (side[i] - side[i + 1])
            points.append((x, d.y[i] + t * (d.y[i + 1] - d.y[i])))
    centred = np.array(points) - np.mean(points, axis=0)
    return float(np.linalg.svd(centred, compute_uv=False)[-1] / math.sqrt(len(points)))


def _caption_percent(config: nn.TrainingConfig) -> float:
    return float(re.search(r"(\d+) % of the points", config.caption).group(1)) / 100


def test_the_network_view_opens_on_a_network_that_has_learned():
    e = landscape.experiment(**nn.DEFAULT.kwargs())
    assert e.settings["dataset"] == "moons"
    accuracy = e.training.accuracy[-1]
    assert accuracy >= 0.95 and accuracy == pytest.approx(_caption_percent(nn.DEFAULT))
    assert _boundary_bend(e) > 0.2  # visibly curved: the moons cannot be split by a line
    # Cheap enough to open on: a few hundred steps of a network with a few dozen weights.
    assert nn.DEFAULT.steps * nn.MLP(nn.DEFAULT.hidden).n_params * nn.DEFAULT.n <= 2e6
    # Trained weights sit at the bottom of their own landscape: the centre of the random
    # plane is its lowest point, and the PCA plane holds nothing much lower.
    plane, middle = e.random_plane, len(e.random_plane.a) // 2
    assert plane.loss[middle, middle] == plane.loss.min()
    assert e.pca_plane.loss.min() >= 0.95 * e.training.loss[-1]


def test_the_thirty_step_lesson_stays_under_trained():
    e = landscape.experiment(**nn.UNDERTRAINED.kwargs())
    accuracy = e.training.accuracy[-1]
    assert accuracy < 0.85 and accuracy == pytest.approx(_caption_percent(nn.UNDERTRAINED))
    assert _boundary_bend(e) < 0.05  # nearly straight
    plane, middle = e.random_plane, len(e.random_plane.a) // 2
    assert plane.loss.min() < 0.95 * plane.loss[middle, middle]  # lower loss lies nearby


def test_experiment_defaults_are_the_default_config():
    defaults = inspect.signature(landscape.experiment).parameters
    for key, value in nn.DEFAULT.kwargs().items():
        assert defaults[key].default == value
    assert nn.UNDERTRAINED.kwargs() == {**nn.DEFAULT.kwargs(), "optimizer": "sgd",
                                        "learning_rate": 0.05, "steps": 30}
