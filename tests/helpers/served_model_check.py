"""Loads a pushed model the way TF Serving would: TensorFlow alone.

Run as a script in a fresh process: `python served_model_check.py MODEL_DIR`.
Prints a JSON report; exits non-zero if the model needs any TFX library or
breaks its contract. Kept free of project imports on purpose.
"""

import json
import sys

import tensorflow as tf


def main(model_dir: str) -> int:
  loaded = tf.saved_model.load(model_dir)
  serve = loaded.signatures['serving_default']
  outputs = serve(text=tf.constant([
      'A wonderful, moving film.<br /><br />Loved it!',
      'Dull and boring. A waste of time.']))
  mismatches = 0
  with open(f'{model_dir}/assets.extra/verification.jsonl') as f:
    samples = [json.loads(line) for line in f]
  for sample in samples:
    got = serve(text=tf.constant(sample['request']['instances']))
    want = sample['response']['predictions'][0]
    if (got['label'].numpy()[0].decode() != want['label'] or
        abs(float(got['probability'][0]) - want['probability']) > 1e-5 or
        abs(float(got['rating'][0]) - want['rating']) > 1e-4):
      mismatches += 1
  print(json.dumps({
      'signatures': sorted(loaded.signatures),
      'outputs': {k: [str(v.dtype.name), v.shape.as_list()]
                  for k, v in outputs.items()},
      'labels': [x.decode() for x in outputs['label'].numpy()],
      'probabilities': outputs['probability'].numpy().tolist(),
      'verification_samples': len(samples),
      'verification_mismatches': mismatches,
      'tfx_modules_loaded': sorted(
          m for m in ('tfx', 'tensorflow_transform', 'tensorflow_text',
                      'tfx_bsl', 'tensorflow_model_analysis')
          if m in sys.modules),
  }))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1]))
