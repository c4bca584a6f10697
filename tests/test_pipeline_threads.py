"""generate samples a small batch on one torch thread (issue 17: two threads fighting other work
on a busy 2-core machine made a 2-second command take 20) and gives the setting back."""

import torch

from musicrnn import pipeline


def test_a_small_batch_on_a_cpu_samples_on_one_thread_and_restores_the_setting():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pipeline.sampling_threads(torch.device("cpu"), 20):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pipeline.sampling_threads(torch.device("cpu"), pipeline.SAMPLING_THREADS_UP_TO + 1):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_generate_leaves_the_thread_count_as_it_was():
    before = torch.get_num_threads()
    pipeline.generate(num=2, length=50, random_seed=0)
    assert torch.get_num_threads() == before
