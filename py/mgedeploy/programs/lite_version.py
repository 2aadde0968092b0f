"""Prints the version of the Lite library megenginelite loads, as MAJOR.MINOR.PATCH."""
import megenginelite

if __name__ == "__main__":
    print(megenginelite.__version__)
