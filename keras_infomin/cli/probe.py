"""Linear-probe and kNN accuracy of a saved model's representation.

The features are `model(images)` in inference mode (for the trainers, the
encoder's output: the representation, not the projection). The linear
probe is scikit-learn's logistic regression on MinMax-scaled features
(`evaluation.linear_probe`), the kNN the weighted cosine vote of
InstDisc / MoCo (`evaluation.knn_accuracy`); both fit on training images
and are read on held-out ones.
"""

from keras_infomin.cli import common

NAME = "probe"
HELP = "linear and kNN accuracy of a .keras model on DATA"


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a .keras file")
    parser.add_argument("data", metavar="DATA", help="folder, archive, tfds")
    common.add_data_arguments(parser, train_images=5000, test_images=2000)
    parser.add_argument(
        "--k", type=common.positive_int, default=200, help="kNN neighbours"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="also write the accuracies to this JSON"
    )
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1)


def run(args):
    stages = common.Stages(3, args.verbose)
    model = common.load_model(args.model)
    stages.next()
    train, test = common.load_data(args.data, args, seed=args.seed)
    common.check_reads(model, train[0], args.model)
    stages.next()
    accuracies = common.probe_accuracies(model, train, test, k=args.k)
    stages.next()
    print(
        f"linear probe accuracy {accuracies['linear']:.4f}, kNN accuracy "
        f"{accuracies['knn']:.4f} (k={accuracies['k']}); "
        f"{len(train[0])} training / {len(test[0])} held-out images"
    )
    if args.out:
        common.write_json(args.out, accuracies)
    return 0
