"""Training inputs: image sources, the tf.data pipeline, TFRecords, built-in images, masks."""
