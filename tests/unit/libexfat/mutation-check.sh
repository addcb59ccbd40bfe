#!/bin/bash
# Shows that the libexfat unit tests can fail: applies one small bug at a time to a copy of
# libexfat/, builds the named test program against it, and reports which tests catch it.
# Not part of the suite (the mutations are tied to the library's current source lines; a
# mutation that no longer applies is reported as such).
# Usage: [ONLY=regex] mutation-check.sh [workdir]
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
work=${1:-$(mktemp -d /tmp/exfat-mutation-XXXXXX)}
trap 'rm -rf "$work"' EXIT
survived=0

declare -A baseline

# Builds test-$1 against the library in $work/lib and prints the names of the failing tests.
failing_tests() {
        gcc -O1 -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$work/lib" -I"$here" -w \
                "$work"/lib/*.c "$here"/image.c "$here"/wrapdev.c "$here"/fixture.c "$here/test-$1.c" \
                -lcmocka -lpthread -o "$work/bin" || return 1
        (cd "$work" && TMPDIR="$work" timeout 300 ./bin 2>&1) |
                grep -E '^\[  (FAILED|ERROR)   ?\] [a-z_0-9]+$' | awk '{print $NF}' | sort -u
}

run_one() { # file sed-expression test-module
        [ -n "${ONLY:-}" ] && ! [[ "$1 $2 $3" =~ $ONLY ]] && return
        if [ -z "${baseline[$3]+set}" ]; then
                # tests that already fail against the unmodified library do not count
                rm -rf "$work/lib" && cp -r "$src/libexfat" "$work/lib"
                baseline[$3]=$(failing_tests "$3" | tr '\n' ' ')
        fi
        rm -rf "$work/lib" && cp -r "$src/libexfat" "$work/lib"
        # the named file first; code moves between files, so then any file the edit changes
        local file=""
        for cand in "$1" $(cd "$src/libexfat" && ls *.c); do
                [ -f "$work/lib/$cand" ] || continue
                sed "$2" "$work/lib/$cand" > "$work/mutated.c"
                if ! cmp -s "$work/mutated.c" "$src/libexfat/$cand"; then
                        file=$cand
                        cp "$work/mutated.c" "$work/lib/$cand"
                        break
                fi
        done
        if [ -z "$file" ]; then
                echo "not applied  $1: $2"
                return
        fi
        set -- "$file" "$2" "$3"
        if ! all=$(failing_tests "$3"); then
                echo "build failed $1: $2"
                return
        fi
        failed=""
        for t in $all; do
                [[ " ${baseline[$3]} " == *" $t "* ]] || failed+="$t "
        done
        if [ -n "$failed" ]; then
                echo "killed       $1 -> test-$3: $failed"
        else
                echo "SURVIVED     $1: $2 (test-$3)"
                survived=$((survived + 1))
        fi
}

run_one volume.c 's/volume_flags & ~VOLUME_FLAG_DIRTY/volume_flags/' boot
run_one upcase.c 's/if (table_checksum(raw, length) != checksum)/if (0)/' corrupt
run_one entryset.c 's/if (le16toh(f->set_checksum) != entry_set_checksum(es->e, es->count))/if (0)/' corrupt
run_one name.c "s/c == '\"' || //" name
run_one ops.c 's/r = -ENOTEMPTY;/r = 0;/' dir
run_one file.c 's/if (n_ > (1u << 30))/if (n_ > vol->cluster_size - in)/; s/n_ = 1u << 30;/n_ = vol->cluster_size - in;/' device
run_one chain.c 's/bad = e\[i\].pcl + e\[i\].len > e\[i + 1\].pcl;/bad = false;/' corrupt
run_one time.c 's/sec2 \* 2 + cs10 \/ 100/sec2 * 2/' time
run_one file.c 's/r = dev_zero_data(vol, dev_off, n_);/r = 0;/' file
run_one ops.c 's/r = cb(ctx, name, \&st, slot + es.count);/r = cb(ctx, name, \&st, slot);/' dir
run_one chain.c 's/r = fat_set(vol, last->pcl + last->len - 1, start);/r = 0;/' file
run_one name.c '/^uint16_t name_hash/,/^}/s/uint16_t c = upcase(vol, name\[i\]);/uint16_t c = name[i];/' name
run_one name.c '/^uint32_t name_key/,/^}/s/uint16_t c = upcase(vol, name\[i\]);/uint16_t c = name[i];/' name
run_one ops.c 's/if (n->nopen == 0 && n->busy == 0)/if (1)/' file
run_one name.c '/^uint32_t name_key/,/^}/s/return h;/return 7;/' stress
run_one bitmap.c 's/bitmap_set_range(vol, vol->pending\[i\].start, vol->pending\[i\].len, false);/(void) 0;/' file
run_one dir.c 's/r = dev_zero(vol, cluster_offset(vol, e->pcl + e->len - 1), vol->cluster_size);/r = 0;/' dir
run_one rename.c 's/EXFAT_RENAME_NOREPLACE/0/' model
run_one name.c '/^uint32_t name_key/,/^}/s/uint16_t c = upcase(vol, name\[i\]);/uint16_t c = name[i];/' model
run_one dir.c 's/if (hint \&\& \*hint < d->nrecs \&\& d->recs\[\*hint\].slot == slot \&\& d->recs\[\*hint\].nslots)/if (hint \&\& *hint < d->nrecs)/' dir
run_one dir.c 's/ || (slot + ENTRY_SET_MAX > end \&\& end < nslots)//' dir
exit $((survived > 0))
