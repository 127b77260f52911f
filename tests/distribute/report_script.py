"""A worker script (run as __main__): prints its result as JSON."""

import json
import os
import sys

if __name__ == "__main__":
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    print("some log line")
    print(json.dumps({"index": index, "argv": sys.argv[1:]}))
