"""Trainable pose embedder (issue 11): a small transformer over normalised hand and body keypoints, trained with
a metric loss on batches of P glosses x K clips drawn across signers. `train.api.train_model` is the entry point;
`train.embedder.TrainedEmbedder` serves a checkpoint like any other model."""
