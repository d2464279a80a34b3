import sys

if sys.argv[1:] == ["--print-submit"]:
    # the same job as an operator would start it with spark-submit (secrets come from the environment)
    import shlex

    from services.stream_processor.spark_conf import submit_command
    from services.stream_processor.settings import StreamSettings
    print(" ".join(shlex.quote(part) for part in submit_command(StreamSettings.from_env())))
    sys.exit(0)

from services.stream_processor.job import main

sys.exit(main())
