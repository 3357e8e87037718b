"""The one place that names things shared by preprocessing, training and serving.

A served model is a contract with its clients: the input name, the output names
and the signature names below are what a TF Serving request refers to, so they
are defined once and imported everywhere (ExampleGen, the schema checks,
Transform, Trainer, Evaluator configuration and the tests).
"""

import os


# --- Raw features, as ExampleGen writes them and the curated schema declares.
TEXT_KEY = 'text'  # bytes: the review as written, markup included
# IMDB: int64, 1 = positive, 0 = negative. A table: bytes, the class name;
# the Transform graph turns it into the int64 index among LABEL_CLASSES_KEY.
LABEL_KEY = 'label'
# IMDB: int64, the star rating 1-10 from the file name. A table: float, the
# optional numeric target (--target-column).
RATING_KEY = 'rating'
REVIEW_ID_KEY = 'review_id'  # bytes: '<split>/<pos|neg>/<id>', unique per dataset

# Split names ExampleGen writes. `eval` is carved out of the dataset's train/
# and only used for validation/early stopping; `test` is only for the Evaluator.
TRAIN_SPLIT = 'train'
EVAL_SPLIT = 'eval'
TEST_SPLIT = 'test'

# The pipeline's ExampleGen, by what the data is: the IMDB layout or a table.
# Its node id is how the run summary and report find the examples.
EXAMPLE_GEN_IDS = ('ImdbExampleGen', 'TableExampleGen')

# --- Transformed features, outputs of `preprocessing_fn`.
# int64, ragged [batch, (n-grams)]: the distinct n-gram ids of a review.
TOKEN_IDS_KEY = 'token_ids'
# float32, ragged like token_ids: each id's naive-Bayes log-count ratio.
TOKEN_WEIGHTS_KEY = 'token_weights'
LENGTH_BUCKET_KEY = 'length_bucket'  # bytes: review length in words, bucketed

# Words per review at the bucket edges; used for TFMA slices.
LENGTH_BUCKET_BOUNDARIES = (100, 200, 400)
LENGTH_BUCKET_NAMES = ('0-99', '100-199', '200-399', '400+')

# Name of the vocabulary file tf.Transform writes (and the model carries as an
# asset of the transform graph).
VOCABULARY_NAME = 'ngram_vocabulary'

# How n-grams become ids: a learnt vocabulary, or hashing (no vocabulary).
VOCABULARY = 'vocabulary'
HASHING = 'hashing'
TOKENIZATIONS = (VOCABULARY, HASHING)

# Tokenization and vocabulary defaults. The pipeline configuration can override
# them; the values reach preprocessing_fn and run_fn through `custom_config`.
# Uni- to trigrams, the 200k most frequent: on an `eval` of movies not in
# `train` they had a lower eval loss than the 100k most frequent uni- and
# bigrams (0.212 against 0.217 at the default learning rate), and the same
# as the 400k most frequent (README, Accuracy), for a 2x larger table.
DEFAULT_VOCABULARY_SIZE = 200_000  # most frequent n-grams kept
DEFAULT_VOCABULARY_MIN_FREQUENCY = 2  # n-grams seen fewer times are OOV
DEFAULT_NUM_OOV_BUCKETS = 1
DEFAULT_HASH_BUCKETS = 1 << 20  # with tokenization = hashing
DEFAULT_NGRAM_MAX = 3  # 1 = unigrams, 2 = unigrams + bigrams, ...
DEFAULT_MAX_WORDS = 1000  # words kept per review before n-grams are formed
# Additive smoothing of the naive-Bayes n-gram counts.
DEFAULT_NB_SMOOTHING = 1.0

# --- The serving contract.
MODEL_NAME = 'imdb_sentiment'  # the model name under TF Serving
# Where a run's outputs go unless told otherwise (--output-dir, OUTPUT_DIR):
# outputs/ in the project, for the pipeline and the serving commands alike.
DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'outputs')
SERVING_SIGNATURE = 'serving_default'  # raw review text in
EXAMPLES_SIGNATURE = 'from_examples'  # serialized tf.Examples in (for TFMA)
TRANSFORM_SIGNATURE = 'transform_features'  # transformed features (TFMA slices)
SERVING_INPUT_KEY = 'text'  # 1-D tf.string of raw reviews
EXAMPLES_INPUT_KEY = 'examples'  # 1-D tf.string of serialized tf.Examples
PROBABILITY_OUTPUT_KEY = 'probability'  # float32 [batch], P(positive)
LABEL_OUTPUT_KEY = 'label'  # string [batch], one of LABEL_NAMES
RATING_OUTPUT_KEY = 'rating'  # float32 [batch], predicted stars, 1-10
LABEL_NAMES = ('negative', 'positive')  # index = label value
# A table's classes (more than two): one probability per class, float32
# [batch, classes], in the order of the model's CLASSES_FILE. With two, the
# served outputs are `probability` (of the second class) and `label`, as for
# IMDB, plus `probabilities`.
PROBABILITIES_OUTPUT_KEY = 'probabilities'
# In the module files' custom_config: a table's sorted class names, read from
# the data when the pipeline is built.
LABEL_CLASSES_KEY = 'label_classes'
# The class names of a table model, one a line, in the order of
# `probabilities` (an asset of the SavedModel, under assets/).
CLASSES_FILE = 'label_classes.txt'
MIN_RATING, MAX_RATING = 1, 10

# `similar_terms` (vocabulary models only): raw text in, the review's nearest
# vocabulary terms by cosine similarity of embeddings out.
SIMILAR_TERMS_SIGNATURE = 'similar_terms'
SIMILAR_TERM_OUTPUT_KEY = 'term'  # string [batch, k]
SIMILARITY_OUTPUT_KEY = 'score'  # float32 [batch, k], cosine similarity
NUM_SIMILAR_TERMS = 10
DECISION_THRESHOLD = 0.5

# `explain`: raw text in, why the model said what it did. The sentiment logit
# is additive over the review's distinct n-grams (models/explanations.py):
# logit = bias + the contributions of all its n-grams, exactly. Also answers
# `probability` and `label`, as serving_default does.
EXPLAIN_SIGNATURE = 'explain'
# string [batch, k]: the review's n-grams of largest |contribution|, largest
# first; '' past the review's own when it has fewer than k.
EXPLAINED_TERM_OUTPUT_KEY = 'term'
CONTRIBUTION_OUTPUT_KEY = 'contribution'  # float32 [batch, k], signed
# int32 [batch, k]: the review's distinct n-grams behind each term's id, more
# than 1 when they share it (an OOV bucket, a hash collision) and so share
# its contribution; 0 for padding.
TERM_NGRAMS_OUTPUT_KEY = 'term_ngrams'
BIAS_OUTPUT_KEY = 'bias'  # float32 [batch], the head's bias (same each row)
LOGIT_OUTPUT_KEY = 'logit'  # float32 [batch], log(p / (1 - p))
# float32 [batch]: the contributions of all the review's n-grams, not only
# the top k: bias + contribution_total = logit.
CONTRIBUTION_TOTAL_OUTPUT_KEY = 'contribution_total'
NUM_EXPLAINED_TERMS = 10

# Files shipped inside every exported model, under assets.extra/.
WARMUP_FILE = 'tf_serving_warmup_requests'
VERIFICATION_FILE = 'verification.jsonl'
# How the model was trained: its tokenization (what a later model must match
# to warm-start from it) and whether it was itself warm-started.
TRAINING_FILE = 'training.json'
# Written by the Pusher into the pushed version: its number, the spans it was
# trained on, its evaluation metrics and what it was compared with.
RELEASE_FILE = 'release.json'
NUM_VERIFICATION_SAMPLES = 32
# Term embeddings written for TensorBoard's projector (the most frequent).
NUM_PROJECTOR_TERMS = 10_000
