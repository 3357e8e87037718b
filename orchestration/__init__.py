"""How the pipeline is run: Beam profiles and the local Beam cluster, object
storage, the run lock, and the fixes TFX's Airflow launcher needs.

Every entry point of the project (the runners, the Kubeflow container, the
Airflow DAG, the Beam workers, the tests) imports this package before
TensorFlow, so this is the one place that makes tf.keras mean Keras 2
(tf_keras) for the process and the processes it starts. tensorflow-transform
sets it too, but only when it is imported before TensorFlow.
"""

import os

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
