import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the toolkit is being imported
    print("pebble: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
