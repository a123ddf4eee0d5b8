import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import correlate2d

from course_lib import widgets
from course_lib.widgets.kernels import PRESET_KERNELS, KernelExplorer, apply_kernel, as_gray_image

RNG = np.random.default_rng(0)
PHOTO = RNG.random((20, 27))  # small, so every redraw is quick


def torch_feature_map(image: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    x = torch.tensor(image, dtype=torch.float32)[None, None]
    w = torch.tensor(kernel, dtype=torch.float32)[None, None]
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


@pytest.fixture(scope="module")
def explorer():
    return KernelExplorer(PHOTO, preset="sobel x", stride=1, padding=1)


def test_presets_are_3x3_and_named_kernels_behave():
    assert {"identity", "box blur", "sharpen", "sobel x", "sobel y", "laplacian", "emboss"} <= set(PRESET_KERNELS)
    assert all(k.shape == (3, 3) and k.dtype == np.float64 for k in PRESET_KERNELS.values())
    for name in ("sobel x", "sobel y", "laplacian"):
        assert PRESET_KERNELS[name].sum() == 0, name  # edge detectors ignore flat regions
    for name in ("identity", "box blur", "gaussian blur", "sharpen"):
        assert np.isclose(PRESET_KERNELS[name].sum(), 1), name  # keep the brightness
    assert np.allclose(apply_kernel(PHOTO, PRESET_KERNELS["identity"], padding=1), PHOTO)


def test_apply_kernel_is_cross_correlation_like_conv2d():
    kernel = RNG.normal(size=(3, 3))
    assert np.allclose(apply_kernel(PHOTO, kernel), correlate2d(PHOTO, kernel, mode="valid"))
    for stride, padding in [(1, 0), (2, 1), (3, 2)]:
        got = apply_kernel(PHOTO, kernel, stride=stride, padding=padding)
        assert got.dtype == np.float64
        assert np.allclose(got, torch_feature_map(PHOTO, kernel, stride, padding), atol=1e-5)


def test_explorer_first_view_is_drawn(explorer):
    assert explorer.draw_count >= 1 and explorer.png.startswith(b"\x89PNG")
    assert explorer.picture.value == explorer.png and explorer.picture in explorer.widget.children
    assert explorer.preset.value == "sobel x"
    assert np.allclose(explorer.kernel, PRESET_KERNELS["sobel x"])
    assert np.allclose(explorer.feature_map, torch_feature_map(PHOTO, explorer.kernel, 1, 1), atol=1e-5)
    assert "20×27" in explorer.info.value


def test_choosing_a_preset_fills_the_entries_and_redraws_once(explorer):
    before = explorer.draw_count
    explorer.preset.value = "laplacian"
    png = explorer.png
    explorer.preset.value = "sobel y"
    assert explorer.draw_count == before + 2 and explorer.picture.value == explorer.png != png
    assert np.allclose(explorer.kernel, PRESET_KERNELS["sobel y"])
    explorer.preset.value = "laplacian"
    assert np.allclose(explorer.kernel, PRESET_KERNELS["laplacian"])
    assert np.allclose(explorer.feature_map, torch_feature_map(PHOTO, PRESET_KERNELS["laplacian"], 1, 1), atol=1e-5)


def test_editing_entries_makes_a_custom_kernel(explorer):
    explorer.preset.value = "identity"
    before = explorer.draw_count
    expected = PRESET_KERNELS["identity"].copy()
    for index, value in [(0, 2.0), (5, -1.5), (7, 0.25)]:  # entries are the kernel read row by row
        explorer.entries[index].value = value
        expected.reshape(-1)[index] = value
    assert explorer.draw_count == before + 3  # one redraw per edit
    assert explorer.preset.value == "custom"
    assert np.array_equal(explorer.kernel, expected)
    assert np.allclose(explorer.feature_map, torch_feature_map(PHOTO, expected, 1, 1), atol=1e-5)
    explorer.set_kernel(PRESET_KERNELS["emboss"])  # typing a preset's numbers names it again
    assert explorer.preset.value == "emboss"
    assert np.allclose(explorer.feature_map, torch_feature_map(PHOTO, PRESET_KERNELS["emboss"], 1, 1), atol=1e-5)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (2, 1), (3, 3), (4, 2)])
def test_stride_and_padding_follow_the_output_size_formula(explorer, stride, padding):
    explorer.preset.value = "sharpen"
    explorer.stride.value, explorer.padding.value = stride, padding
    expected = torch_feature_map(PHOTO, PRESET_KERNELS["sharpen"], stride, padding)
    size = ((20 + 2 * padding - 3) // stride + 1, (27 + 2 * padding - 3) // stride + 1)
    assert explorer.feature_map.shape == expected.shape == size
    assert np.allclose(explorer.feature_map, expected, atol=1e-5)
    assert f"{size[0]}×{size[1]}" in explorer.info.value


def test_factory_and_lazy_names():
    ex = widgets.kernel_explorer(np.full((9, 9, 3), 255, np.uint8), preset="box blur", padding=0)
    assert isinstance(ex, widgets.KernelExplorer)
    assert np.allclose(ex.image, 1.0) and ex.feature_map.shape == (7, 7) and np.allclose(ex.feature_map, 1.0)


def test_default_image_is_a_bundled_photo_scaled_down():
    gray = as_gray_image(None, max_side=64)
    assert gray.shape == (64, 64) and gray.dtype == np.float64 and 0 <= gray.min() < gray.max() <= 1


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="preset"):
        KernelExplorer(PHOTO, preset="blurry")
    with pytest.raises(ValueError, match="image"):
        as_gray_image(np.zeros(5))
    with pytest.raises(ValueError, match="3×3"):
        as_gray_image(np.zeros((2, 9)))
    with pytest.raises(ValueError, match="kernel"):
        KernelExplorer(PHOTO).set_kernel(np.ones((5, 5)))
    with pytest.raises(ValueError, match="stride"):
        apply_kernel(PHOTO, np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="padding"):
        apply_kernel(PHOTO[:4, :4], np.ones((5, 5)))
