"""The tiny network: data, forward pass, backpropagation, training and the caps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, nn, optimizers
from losslab.surfaces import Surface

ARCHITECTURES = [((5,), "tanh"), ((4, 3), "tanh"), ((5,), "relu"), ((4, 3), "relu")]


def _problem(hidden, activation, seed=0, n=30):
    net = nn.MLP(hidden, activation)
    data = nn.make_dataset("moons", n=n, noise=0.3, seed=seed)
    rng = np.random.default_rng(seed + 100)
    # Non-zero biases so every bias gradient is exercised, not only the weights'.
    theta = nn.init_params(net, seed) + 0.3 * rng.standard_normal(net.n_params)
    return net, data.x, data.y, theta


def _central_differences(net, theta, x, y, eps=1e-6):
    eye = np.eye(net.n_params)
    stack = np.concatenate([theta + eps * eye, theta - eps * eye])
    values = nn.loss(net, stack, x, y)
    return (values[: net.n_params] - values[net.n_params :]) / (2 * eps)


# --- backpropagation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("hidden", "activation"), ARCHITECTURES)
def test_gradient_matches_central_differences(hidden, activation):
    net, x, y, theta = _problem(hidden, activation)
    _, grad = nn.loss_and_grad(net, theta, x, y)
    np.testing.assert_allclose(grad, _central_differences(net, theta, x, y), atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize(("hidden", "activation"), ARCHITECTURES)
def test_gradient_of_each_layer_matches_central_differences(hidden, activation):
    net, x, y, theta = _problem(hidden, activation, seed=3)
    _, grad = nn.loss_and_grad(net, theta, x, y)
    numeric = _central_differences(net, theta, x, y)
    start = 0
    for (out, inp), name in zip(net.shapes, ["first", "second", "third"], strict=False):
        size = out * inp + out
        np.testing.assert_allclose(
            grad[start : start + size],
            numeric[start : start + size],
            atol=1e-8,
            rtol=1e-6,
            err_msg=f"{name} layer of {net.label}",
        )
        start += size
    assert start == net.n_params


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    arch=st.sampled_from(ARCHITECTURES),
    dataset=st.sampled_from(nn.DATASETS),
)
def test_gradient_matches_differences_for_any_data_and_weights(seed, arch, dataset):
    net = nn.MLP(*arch)
    data = nn.make_dataset(dataset, n=12, noise=0.5, seed=seed)
    theta = np.random.default_rng(seed).normal(0, 1.0, net.n_params)
    _, grad = nn.loss_and_grad(net, theta, data.x, data.y)
    np.testing.assert_allclose(
        grad, _central_differences(net, theta, data.x, data.y), atol=1e-7, rtol=1e-5
    )


def test_loss_and_grad_value_equals_forward_loss():
    net, x, y, theta = _problem((4, 3), "tanh")
    value, _ = nn.loss_and_grad(net, theta, x, y)
    assert value == pytest.approx(nn.loss(net, theta, x, y), rel=1e-12)


def test_loss_is_binary_cross_entropy_of_the_sigmoid():
    net, x, y, theta = _problem((5,), "relu")
    p = 1.0 / (1.0 + np.exp(-nn.logits(net, theta, x)))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert nn.loss(net, theta, x, y) == pytest.approx(expected, rel=1e-10)


def test_stacked_forward_equals_one_network_at_a_time():
    net, x, y, theta = _problem((4, 3), "relu")
    stack = theta + np.random.default_rng(1).normal(0, 0.5, (7, net.n_params))
    one_by_one = [nn.loss(net, t, x, y) for t in stack]
    np.testing.assert_allclose(nn.loss(net, stack, x, y), one_by_one, rtol=1e-12)


def test_stacked_forward_is_chunked_without_changing_the_result(monkeypatch):
    net, x, y, theta = _problem((5,), "tanh")
    stack = theta + np.random.default_rng(2).normal(0, 0.5, (9, net.n_params))
    whole = nn.loss(net, stack, x, y)
    monkeypatch.setattr(nn, "_CHUNK_FLOATS", 1)  # one network per chunk
    np.testing.assert_allclose(nn.loss(net, stack, x, y), whole, rtol=1e-12)


def test_loss_stays_finite_for_huge_weights():
    net, x, y, theta = _problem((5,), "tanh")
    value, grad = nn.loss_and_grad(net, 1e6 * theta, x, y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_accuracy_counts_rows_on_the_right_side():
    net = nn.MLP((1,), "relu")
    # Hidden unit relu(x1); output logit = relu(x1) - 0.5: class 1 exactly where x1 > 0.5.
    theta = np.array([1.0, 0.0, 0.0, 1.0, -0.5])
    x = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 5.0], [0.2, 1.0]])
    assert nn.accuracy(net, theta, x, np.array([0, 1, 1, 1])) == pytest.approx(0.75)


def test_predict_proba_lies_in_unit_interval():
    net, x, _, theta = _problem((4, 3), "tanh")
    p = nn.predict_proba(net, 50 * theta, x)
    assert np.all((p >= 0) & (p <= 1))


# --- architecture and parameters ----------------------------------------------------------------


def test_parameter_count_of_2_8_1():
    assert nn.MLP((8,)).n_params == 2 * 8 + 8 + 8 + 1


def test_filters_are_the_rows_of_every_weight_matrix():
    net = nn.MLP((3, 2))
    covered = np.zeros(net.n_params, dtype=int)
    for f in net.filters():
        covered[f] += 1
    expected = np.zeros(net.n_params, dtype=int)
    for w, _ in net.layers(np.arange(net.n_params, dtype=float)):
        expected[w.astype(int).ravel()] = 1
    np.testing.assert_array_equal(covered, expected)
    assert len(net.filters()) == 3 + 2 + 1


def test_filter_holds_the_incoming_weights_of_one_neuron():
    net = nn.MLP((3,))
    theta = np.arange(net.n_params, dtype=float)
    w1, _ = net.layers(theta)[0]
    np.testing.assert_array_equal(theta[net.filters()[1]], w1[1])


def test_initial_biases_are_zero_and_weights_scaled_by_fan_in():
    net = nn.MLP((32, 32), "relu")
    layers = net.layers(nn.init_params(net, 0))
    assert all(np.all(b == 0) for _, b in layers)
    assert np.std(layers[1][0]) == pytest.approx(np.sqrt(2 / 32), rel=0.1)


def test_wrong_parameter_length_is_rejected():
    net = nn.MLP((4,))
    with pytest.raises(ValueError, match="17 parameters"):
        nn.loss(net, np.zeros(5), np.zeros((3, 2)), np.zeros(3))


def test_x_of_wrong_shape_is_rejected():
    net = nn.MLP((4,))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        nn.loss(net, np.zeros(net.n_params), np.zeros((3, 3)), np.zeros(3))


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="sigmoid"):
        nn.MLP((4,), "sigmoid")


# --- caps -----------------------------------------------------------------------------------------


def test_width_beyond_the_cap_is_capped():
    assert nn.MLP((10_000, 64)).hidden == (nn.MAX_WIDTH, nn.MAX_WIDTH)


def test_more_hidden_layers_than_the_cap_are_rejected():
    with pytest.raises(ValueError, match="1 to 2 widths"):
        nn.MLP((4, 4, 4))


def test_no_hidden_layer_is_rejected():
    with pytest.raises(ValueError, match="Invalid hidden layers"):
        nn.MLP(())


def test_rows_beyond_the_cap_are_capped():
    assert len(nn.make_dataset("xor", n=10**7).y) == nn.MAX_ROWS


def test_too_few_rows_are_raised_to_the_minimum():
    assert len(nn.make_dataset("xor", n=-5).y) == nn.MIN_ROWS


def test_steps_beyond_the_cap_are_capped():
    net = nn.MLP((2,))
    data = nn.make_dataset("moons", n=8, seed=0)
    run = nn.train(
        net, nn.init_params(net), data.x, data.y, optimizers.sgd(learning_rate=0.1), steps=10**9
    )
    assert run.steps_requested == nn.MAX_STEPS
    assert len(run.loss) == nn.MAX_STEPS + 1


@pytest.mark.parametrize("noise", [-0.1, 1.5, float("nan")])
def test_noise_outside_the_unit_interval_is_rejected(noise):
    with pytest.raises(ValueError, match="noise"):
        nn.make_dataset("moons", noise=noise)


# --- data -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", nn.DATASETS)
def test_dataset_has_both_classes_in_equal_shares(name):
    data = nn.make_dataset(name, n=400, noise=0.1, seed=1)
    assert data.x.shape == (400, 2) and set(np.unique(data.y)) == {0.0, 1.0}
    assert abs(data.y.mean() - 0.5) < 0.1


@pytest.mark.parametrize("name", nn.DATASETS)
def test_same_seed_gives_the_same_rows(name):
    a, b = nn.make_dataset(name, seed=4), nn.make_dataset(name, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


def test_other_seed_gives_other_rows():
    assert not np.allclose(nn.make_dataset("moons", seed=1).x, nn.make_dataset("moons", seed=2).x)


def test_noise_zero_puts_circles_on_their_radii():
    data = nn.make_dataset("circles", n=50, noise=0.0)
    radius = np.hypot(*data.x.T)
    np.testing.assert_allclose(radius, np.where(data.y == 1, 0.5, 1.0))


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="blobs"):
        nn.make_dataset("blobs")


# --- training -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", nn.DATASETS)
def test_training_reduces_the_loss_on_each_dataset(name):
    net = nn.MLP((16, 16), "tanh")
    data = nn.make_dataset(name, n=150, noise=0.1, seed=0)
    run = nn.train(
        net,
        nn.init_params(net, 0),
        data.x,
        data.y,
        optimizers.adam(learning_rate=0.05),
        steps=200,
    )
    assert run.diverged_at is None
    assert run.loss[-1] < 0.75 * run.loss[0]
    assert run.accuracy[-1] > 0.7


def test_one_sgd_step_moves_against_the_gradient():
    net, x, y, theta = _problem((4,), "tanh")
    _, grad = nn.loss_and_grad(net, theta, x, y)
    run = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.1), steps=1)
    np.testing.assert_allclose(run.final, theta - 0.1 * grad, rtol=1e-12)


def test_schedule_multiplies_the_learning_rate():
    net, x, y, theta = _problem((4,), "tanh")
    plain = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.05), steps=1)
    scheduled = nn.train(
        net, theta, x, y, optimizers.sgd(learning_rate=0.1), steps=1, schedule=lambda t: 0.5
    )
    np.testing.assert_allclose(scheduled.final, plain.final, rtol=1e-12)


def test_same_seed_gives_the_same_mini_batch_run():
    net, x, y, theta = _problem((4,), "relu", n=60)
    runs = [
        nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.2), steps=30, batch=8, seed=5)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].snapshots, runs[1].snapshots)


def test_other_batch_seed_gives_another_mini_batch_run():
    net, x, y, theta = _problem((4,), "relu", n=60)
    a, b = (
        nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.2), steps=30, batch=8, seed=s)
        for s in (1, 2)
    )
    assert not np.allclose(a.final, b.final)


def test_batch_of_all_rows_is_full_batch():
    net, x, y, theta = _problem((4,), "tanh")
    full = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.2), steps=10)
    whole = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.2), steps=10, batch=10**6)
    np.testing.assert_allclose(whole.final, full.final, rtol=1e-12)


def test_snapshots_are_thinned_but_keep_start_and_end():
    net, x, y, theta = _problem((2,), "tanh", n=10)
    run = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=0.1), steps=1234)
    assert len(run.snapshots) <= nn._MAX_SNAPSHOTS
    assert run.snapshot_steps[0] == 0 and run.snapshot_steps[-1] == 1234
    np.testing.assert_array_equal(run.initial, theta)


def test_divergence_stops_cleanly_and_keeps_only_finite_values():
    net, x, y, theta = _problem((4,), "tanh")
    run = nn.train(net, theta, x, y, optimizers.sgd(learning_rate=1e9), steps=50)
    assert run.diverged_at == 1
    assert len(run.loss) == 1 and len(run.snapshots) == 1
    assert np.all(np.isfinite(run.loss)) and np.all(np.isfinite(run.snapshots))


@pytest.mark.parametrize("factor", [float("inf"), float("nan"), -1.0])
def test_a_bad_schedule_factor_is_refused_as_in_any_descent_run(factor):
    net, x, y, theta = _problem((4,), "tanh")
    with pytest.raises(ValueError, match="at update 5; it must be >= 0"):
        nn.train(
            net,
            theta,
            x,
            y,
            optimizers.sgd(learning_rate=0.1),
            steps=20,
            schedule=lambda t: factor if t == 5 else 1.0,
        )


def _as_surface(net: nn.MLP, x: np.ndarray, y: np.ndarray) -> Surface:
    """The network's loss as a losslab surface over its flat weights (no Hessian needed).
    A surface takes points as columns ``(P, ...)``; the network takes rows ``(..., P)``."""

    def grad(p: np.ndarray) -> np.ndarray:
        rows = np.moveaxis(p, 0, -1).reshape(-1, net.n_params)
        grads = np.array([nn.loss_and_grad(net, theta, x, y)[1] for theta in rows])
        return np.moveaxis(grads.reshape(*p.shape[1:], net.n_params), -1, 0)

    return Surface(
        name="network", title="network", dim=net.n_params,
        loss_fn=lambda p: nn.loss(net, np.moveaxis(p, 0, -1), x, y),
        grad_fn=grad,
        hessian_fn=lambda p: np.zeros((net.n_params, net.n_params)),
        window=((-1.0, 1.0),) * net.n_params,
    )


@pytest.mark.parametrize(("name", "rate"), [("adam", 0.05), ("momentum", 0.5), ("sgd", 1e7)])
def test_training_follows_the_same_rules_as_a_descent_run(name, rate):
    assert nn.MAX_STEPS is descent.MAX_STEPS and nn.MAX_PARAM is descent.MAX_PARAM
    net, x, y, theta = _problem((4,), "tanh")
    trained = nn.train(net, theta, x, y, optimizers.make(name, learning_rate=rate), steps=40)
    walked = descent.run(_as_surface(net, x, y), optimizers.make(name, learning_rate=rate),
                         start=theta, steps=40)
    assert trained.diverged_at == walked.diverged_at
    np.testing.assert_allclose(trained.loss, walked.loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(trained.final, walked.final, rtol=1e-12, atol=1e-15)
    if name == "sgd":  # the huge rate throws the weights past MAX_PARAM at once
        assert trained.diverged_at == 1


def test_optimizer_that_needs_a_hessian_is_rejected():
    net, x, y, theta = _problem((4,), "tanh")
    with pytest.raises(ValueError, match="Hessian"):
        nn.train(net, theta, x, y, optimizers.newton(), steps=1)


@pytest.mark.parametrize("a_shape", [(7, 5), (3, 7, 5)])
def test_products_split_into_row_blocks_equal_one_product(monkeypatch, a_shape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal((5, 4))
    monkeypatch.setattr(nn, "_SERIAL_MACS", 2 * 5 * 4)  # blocks of two rows
    np.testing.assert_allclose(nn._matmul(a, b), a @ b, rtol=1e-12)
