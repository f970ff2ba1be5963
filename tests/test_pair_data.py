"""Pair data: crops and colour, pairs from rendered shards, the weighted mixture and its resumable loader."""

from __future__ import annotations

import io
import itertools
import logging
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from crocohuman.core.errors import CorruptSampleError, CorruptSourceError
from crocohuman.core.shard_names import shard_name
from crocohuman.core.shards import list_shards, read_shard
from crocohuman.model.pairs.mixture import PairMixture, ResumableSampler, SourceConfig, build_source, make_loader
from crocohuman.model.pairs.rendered import RenderedShards
from crocohuman.model.pairs.transforms import IMAGENET_MEAN, IMAGENET_STD, KIND_CODES, PairTransform, denormalize
from crocohuman.model.pairs.types import RawPair
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run
from crocohuman.render.shard_writer import write_shard

SOURCE = re.compile(r"rendered:(shard-\d+\.tar)#(\d+) t(\d+)v(\d+)-t(\d+)v(\d+)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """2 takes (one per shard) of 2 frames x 3 views at 64x64, and those takes decoded whole."""
    root = tmp_path_factory.mktemp("pairs") / "rendered"
    run(
        RenderConfig(
            output=root,
            takes=2,
            takes_per_shard=1,
            frames=2,
            width=64,
            height=64,
            rig=RigConfig(views=3),
            texture_size=128,
            seed=3,
            preview_takes=1,
        )
    )
    takes = {(path.name, take.meta["key"]): take for path in list_shards(root) for take in read_shard(path)}
    return root, takes


class FlatSource:
    """A tiny ``PairSource``: noise images around a box; the indices in ``corrupt`` are unreadable files."""

    def __init__(self, name: str, size: int = 5, corrupt: tuple[int, ...] = ()):
        self.name, self.size, self.corrupt = name, size, corrupt

    def __len__(self) -> int:
        return self.size

    def get(self, index: int, rng: np.random.Generator) -> RawPair:
        if index in self.corrupt:
            raise CorruptSampleError(f"/data/{self.name}/{index:04d}.jpg: cannot identify image file")
        img1, img2 = rng.integers(0, 256, size=(2, 24, 32, 3), dtype=np.uint8)
        return RawPair(
            img1=img1,
            img2=img2,
            kind="cross_pose",
            source=f"{self.name}:{index}",
            box1=(4.0, 2.0, 20.0, 22.0),
            box2=(10.0, 4.0, 28.0, 20.0),
        )


def person_image(height=200, width=300, box=(180, 40, 240, 160)):
    """A grey image with a bright rectangle 'person' off centre, and its mask."""
    image = np.full((height, width, 3), 90, np.uint8)
    mask = np.zeros((height, width), bool)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = (220, 180, 150)
    mask[y0:y1, x0:x1] = True
    return image, mask


# ---- transforms -------------------------------------------------------------------------------


def test_transform_outputs_normalised_tensors_of_the_right_kind():
    image, mask = person_image()
    raw = RawPair(img1=image, img2=image, kind="cross_view", source="test:0", mask1=mask)
    out = PairTransform(size=32).apply(raw, np.random.default_rng(0))
    for i in (1, 2):
        assert out[f"img{i}"].shape == (3, 32, 32) and out[f"img{i}"].dtype == torch.float32
        assert out[f"mask{i}"].shape == (32, 32) and out[f"mask{i}"].dtype == torch.bool
    assert out["has_mask1"].item() and not out["has_mask2"].item() and not out["mask2"].any()
    assert out["kind"] == KIND_CODES["cross_view"] == 0 and out["source"] == "test:0"

    plain = PairTransform(size=32, colour=(1.0, 1.0))
    flat = np.zeros((40, 40, 3), np.uint8) + np.array([round(255 * m) for m in IMAGENET_MEAN], np.uint8)
    out = plain.apply(RawPair(img1=flat, img2=flat, kind="single", source="flat"), np.random.default_rng(0))
    assert out["img1"].abs().max() < 0.5 / 255 / min(IMAGENET_STD)  # the mean colour normalises to 0
    assert out["kind"] == 2


def test_crop_is_centred_on_the_person_and_scaled_from_its_box():
    image, mask = person_image()  # person box 60 x 120, centred at (210, 100)
    transform = PairTransform(size=64, jitter=0.0, colour=(1.0, 1.0))
    rng = np.random.default_rng(1)
    for _ in range(10):
        out = transform.apply(
            RawPair(img1=image, img2=image, kind="cross_view", source="t", mask1=mask, mask2=mask), rng
        )
        rows, cols = np.nonzero(out["mask1"].numpy())
        assert abs(rows.mean() - 31.5) < 1.0 and abs(cols.mean() - 31.5) < 1.0
        height = rows.max() - rows.min() + 1  # the box's longer side over the crop side
        assert 64 / 1.6 - 1 <= height <= 64 / 1.1 + 1
        # The image follows the mask: the bright person colour sits where the mask says.
        red = denormalize(out["img1"])[..., 0]  # 220 on the person, 90 around; mask pixels are >= half person
        assert (red[out["mask1"].numpy()] > 150).all() and (red[~out["mask1"].numpy()] < 160).all()


def test_crops_past_the_border_are_padded_with_the_mean_colour():
    image, mask = person_image(box=(0, 0, 40, 200))  # tall person against the left edge
    out = PairTransform(size=64, jitter=0.0, scale=(1.5, 1.5), colour=(1.0, 1.0)).apply(
        RawPair(img1=image, img2=image, kind="cross_view", source="t", mask1=mask), np.random.default_rng(2)
    )
    left = out["img1"][:, :, :8]  # the crop's left part lies left of the image
    assert left.abs().max() < 0.05
    assert not out["mask1"][:, :8].any()


def test_fallbacks_box_then_centred_square():
    image, _ = person_image()
    transform = PairTransform(size=50, jitter=0.0, scale=(1.0, 1.0), colour=(1.0, 1.0))
    out = transform.apply(
        RawPair(img1=image, img2=image, kind="cross_pose", source="t", box1=(180, 40, 240, 160)),
        np.random.default_rng(3),
    )
    assert not out["has_mask1"].item() and not out["mask1"].any()
    person = denormalize(out["img1"])[:, 13:37]  # box 60 wide in a 120-pixel crop: columns 12.5..37.5
    assert (np.abs(person.astype(int) - (220, 180, 150)) <= 2).all()
    centred = Image.fromarray(image[:, 50:250]).resize((50, 50), Image.Resampling.BILINEAR)  # no location
    assert (np.abs(denormalize(out["img2"]).astype(int) - np.asarray(centred)) <= 1).all()
    assert transform.crop_box((200, 300), None, np.random.default_rng(0)) == (50.0, 0.0, 250.0, 200.0)


def test_each_image_is_cropped_and_coloured_independently():
    image, mask = person_image()
    raw = RawPair(img1=image, img2=image, kind="cross_view", source="t", mask1=mask, mask2=mask)
    same_crop = PairTransform(size=32, scale=(1.3, 1.3), jitter=0.0).apply(raw, np.random.default_rng(4))
    assert torch.equal(same_crop["mask1"], same_crop["mask2"])  # same geometry...
    assert not torch.allclose(same_crop["img1"], same_crop["img2"], atol=0.05)  # ...different colour
    out = PairTransform(size=32, colour=(1.0, 1.0)).apply(raw, np.random.default_rng(4))
    assert not torch.equal(out["mask1"], out["mask2"])  # different crops


def test_denormalize_inverts_the_normalisation():
    image = np.random.default_rng(5).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    transform = PairTransform(size=32, scale=(1.0, 1.0), jitter=0.0, colour=(1.0, 1.0))
    out = transform.apply(RawPair(img1=image, img2=image, kind="single", source="t"), np.random.default_rng(0))
    assert np.array_equal(denormalize(out["img1"]), image)
    assert denormalize(torch.stack([out["img1"], out["img2"]])).shape == (2, 32, 32, 3)


# ---- rendered shards --------------------------------------------------------------------------


def drawn(source: RenderedShards, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for index in itertools.islice(itertools.cycle(range(len(source))), count):
        pair = source.get(index, rng)
        shard, key, t1, v1, t2, v2 = SOURCE.fullmatch(pair.source).groups()
        yield pair, (shard, key), (int(t1), int(v1)), (int(t2), int(v2))


@pytest.mark.parametrize("fraction, kind", [(1.0, "cross_view"), (0.0, "cross_pose")])
def test_rendered_pairs_follow_their_kind_and_match_the_shards(rendered, fraction, kind):
    root, takes = rendered
    source = RenderedShards(root, cross_view_fraction=fraction)
    assert len(source) == 2 and source.skipped == 0
    for pair, take, (t1, v1), (t2, v2) in drawn(source, 8):
        assert pair.kind == kind
        if kind == "cross_view":
            assert t1 == t2 and v1 != v2
        else:
            assert v1 == v2 and t1 != t2
        whole = takes[take]
        assert np.array_equal(pair.img1, whole.rgb[t1, v1]) and np.array_equal(pair.img2, whole.rgb[t2, v2])
        assert np.array_equal(pair.mask1, whole.mask[t1, v1]) and np.array_equal(pair.mask2, whole.mask[t2, v2])
        assert pair.mask1.any()


def test_rendered_mixes_kinds_by_fraction(rendered):
    kinds = [pair.kind for pair, *_ in drawn(RenderedShards(rendered[0], cross_view_fraction=0.25), 200)]
    assert 0.15 < kinds.count("cross_view") / len(kinds) < 0.35


def test_truncated_shards_are_skipped_with_a_warning(rendered, tmp_path, caplog):
    root = tmp_path / "copy"
    shutil.copytree(rendered[0], root)
    cut = root / shard_name(1)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        source = RenderedShards(root)
    assert len(source) == 1 and source.skipped == 1
    assert [r for r in caplog.records if r.levelno == logging.WARNING and shard_name(1) in r.getMessage()]


def test_an_unreadable_image_raises_a_corrupt_sample_error_naming_the_shard(tmp_path):
    good = np.zeros((8, 8), np.uint8)
    members = [("000000000.meta.json", b"{}")]
    for t, v in [(0, 0), (1, 0)]:
        members += [
            (f"000000000.t{t:02d}.v{v:02d}.rgb.jpg", b"not a jpeg"),
            (f"000000000.t{t:02d}.v{v:02d}.parts.png", _png(good)),
        ]
    write_shard(tmp_path / shard_name(0), members)
    source = RenderedShards(tmp_path)
    with pytest.raises(CorruptSampleError, match=shard_name(0)):
        source.get(0, np.random.default_rng(0))


def test_frame_gap_bounds_cross_pose_pairs_of_single_view_takes(tmp_path):
    members = []
    for t in range(5):  # one view: only cross-pose pairs; the grey level encodes t
        members += [
            (f"000000000.t{t:02d}.v00.rgb.png", _png(np.full((8, 8, 3), 10 * t, np.uint8))),
            (f"000000000.t{t:02d}.v00.parts.png", _png(np.full((8, 8), t, np.uint8))),
        ]
    write_shard(tmp_path / shard_name(0), members)
    source = RenderedShards(tmp_path, cross_view_fraction=1.0, frame_gap=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        pair = source.get(0, rng)
        t1, t2 = pair.img1[0, 0, 0] // 10, pair.img2[0, 0, 0] // 10
        assert pair.kind == "cross_pose" and abs(int(t1) - int(t2)) == 1
        assert pair.source.endswith(f"t{t1}v0-t{t2}v0") and pair.mask1.all() == (t1 > 0)


def test_missing_or_empty_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        RenderedShards(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        RenderedShards(tmp_path)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# ---- mixture, sampler, loader -----------------------------------------------------------------


def assert_same_sample(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def test_mixture_samples_depend_only_on_seed_and_index(rendered):
    configs = [SourceConfig("rendered", str(rendered[0]), weight=1.0)]
    first = PairMixture.from_configs(configs, transform=PairTransform(size=32), seed=11)
    second = PairMixture.from_configs(configs, transform=PairTransform(size=32), seed=11)
    for index in (0, 5, 2**40):
        assert_same_sample(first[index], second[index])
    assert not torch.equal(first[0]["img1"], first[1]["img1"])
    other = PairMixture.from_configs(configs, transform=PairTransform(size=32), seed=12)
    assert not torch.equal(first[0]["img1"], other[0]["img1"])
    assert first[0]["has_mask1"].item() and first[0]["n_skipped"] == 0


def test_loader_gives_the_same_batches_with_and_without_workers(rendered):
    dataset = PairMixture.from_configs(
        [SourceConfig("rendered", str(rendered[0]))], transform=PairTransform(size=32), seed=1
    )
    serial = list(itertools.islice(make_loader(dataset, batch_size=3, num_workers=0), 2))
    parallel = list(itertools.islice(make_loader(dataset, batch_size=3, num_workers=2), 2))
    for a, b in zip(serial, parallel, strict=True):
        assert_same_sample(a, b)
    assert serial[0]["img1"].shape == (3, 3, 32, 32) and serial[0]["mask1"].shape == (3, 32, 32)


def test_sampler_resumes_the_stream_and_shards_it_over_ranks():
    def head(sampler, count):
        return list(itertools.islice(iter(sampler), count))

    assert head(ResumableSampler(), 4) == [0, 1, 2, 3]
    assert head(ResumableSampler(start=3), 5) == head(ResumableSampler(), 8)[3:]
    for rank in range(3):
        assert (
            head(ResumableSampler(start=2, world_size=3, rank=rank), 4)
            == head(ResumableSampler(world_size=3, rank=rank), 6)[2:]
        )
    ranks = [head(ResumableSampler(world_size=3, rank=r), 4) for r in range(3)]
    assert sorted(itertools.chain.from_iterable(ranks)) == list(range(12))


def test_resumed_loader_continues_the_interrupted_stream():
    dataset = PairMixture([FlatSource("a")], [1.0], transform=PairTransform(size=16), seed=2)
    whole = [sample for batch in itertools.islice(make_loader(dataset, batch_size=1), 5) for sample in batch["source"]]
    tail = [
        sample
        for batch in itertools.islice(make_loader(dataset, batch_size=1, start=3), 2)
        for sample in batch["source"]
    ]
    assert tail == whole[3:]
    batch = next(iter(make_loader(dataset, batch_size=2, start=3)))
    fifth = dataset[4]
    assert batch["source"][1] == fifth["source"] and torch.equal(batch["img1"][1], fifth["img1"])


def test_mixture_respects_the_weights():
    dataset = PairMixture([FlatSource("a"), FlatSource("b")], [3.0, 1.0], transform=PairTransform(size=8), seed=3)
    names = [dataset[i]["source"].split(":")[0] for i in range(1000)]
    assert 0.71 < names.count("a") / len(names) < 0.79


def test_corrupt_samples_are_skipped_logged_and_counted(caplog):
    sources = [FlatSource("a", corrupt=(0, 1, 2)), FlatSource("b", size=2)]
    dataset = PairMixture(sources, [1.0, 1.0], transform=PairTransform(size=8), seed=4)
    with caplog.at_level(logging.WARNING):
        samples = [dataset[i] for i in range(60)]
    skipped = sum(s["n_skipped"] for s in samples)
    assert skipped > 0 and len(caplog.records) == skipped
    assert all("/data/a/" in r.getMessage() for r in caplog.records)
    assert not {s["source"] for s in samples} & {"a:0", "a:1", "a:2"}
    assert_same_sample(samples[7], dataset[7])  # a skip does not break determinism

    broken = PairMixture(
        [FlatSource("a", corrupt=tuple(range(5))), FlatSource("b")],
        [1.0, 0.0],
        max_skips=3,
        labels=["flat:/data/a", "flat:/data/b"],
    )
    with pytest.raises(CorruptSourceError, match=r"^data source flat:/data/a: 4 corrupt samples in a row") as error:
        broken[0]
    assert "flat:/data/b" not in str(error.value)  # only the sources that failed are named


def test_mae_objective_gives_single_images():
    dataset = PairMixture([FlatSource("a")], [1.0], transform=PairTransform(size=8), objective="mae")
    assert dataset[0]["kind"] == KIND_CODES["single"]


def test_build_source_names_the_missing_folder_kind_and_layout(tmp_path, rendered):
    with pytest.raises(FileNotFoundError) as error:
        build_source(SourceConfig("humbi", str(tmp_path / "humbi_data")))
    assert "humbi_data" in str(error.value) and "humbi:" in str(error.value) and "subject_" in str(error.value)
    with pytest.raises(ValueError, match="unknown pair source kind"):
        build_source(SourceConfig("imagenet", str(tmp_path)))
    source = build_source(SourceConfig("rendered", str(rendered[0]), options={"cross_view_fraction": 1.0}))
    assert isinstance(source, RenderedShards) and source.pair_draw.cross_view_fraction == 1.0
