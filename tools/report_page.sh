# The HTML report of tools/demo and tools/report, sourced after common.sh:
# the Vega libraries fetched from the npm registry (pinned, checked), and
# a self-contained page of charts and tables that opens offline.

# Pinned versions of the official Vega libraries, with the npm registry's
# sha512 integrity of their packages
VEGA_PACKAGES=(
	"vega 5.33.1 sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="
	"vega-lite 5.23.0 sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="
	"vega-embed 6.29.0 sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="
)
VEGA_DIR=${CRM_VEGA_DIR:-$ROOT/build/vega}

# vega_libraries: $VEGA_DIR/<package>.min.js for each package, downloaded
# once; a package whose checksum does not match is an error
vega_libraries() {
	local entry name version integrity tarball
	command -v curl >/dev/null || {
		echo "Installing curl ..."
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
	}
	mkdir -p "$VEGA_DIR"
	for entry in "${VEGA_PACKAGES[@]}"; do
		read -r name version integrity <<<"$entry"
		[ -s "$VEGA_DIR/$name-$version.min.js" ] && continue
		tarball=$(mktemp)
		curl -fsS --retry 3 -o "$tarball" "https://registry.npmjs.org/$name/-/$name-$version.tgz"
		if [ "sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" != "$integrity" ]; then
			rm -f "$tarball"
			echo "$name $version from the npm registry does not match its checksum" >&2
			return 1
		fi
		tar -xzOf "$tarball" "package/build/$name.min.js" >"$VEGA_DIR/$name-$version.min.js.part"
		mv "$VEGA_DIR/$name-$version.min.js.part" "$VEGA_DIR/$name-$version.min.js"
		rm -f "$tarball"
	done
}

html_escape() {
	sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}

# write_report out title tables charts: the page at out, with the text of
# the file tables (psql's output) and the charts of the file charts, one
# per line: id, a tab, the title, a tab, the Vega-Lite specification.
# When every chart has rendered, the page adds <script
# type="application/json" id="crm-rendered"> with, per chart, whether it
# rendered, how many mark items it drew and the data it drew from, and the
# errors and console warnings the page met: what test/report.sh reads back.
write_report() {
	local out=$1 title=$2 tables=$3 charts=$4 entry name version
	{
		printf '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
		printf '<title>%s</title>\n' "$(html_escape <<<"$title")"
		cat <<'CSS'
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; }
.charts { display: flex; flex-wrap: wrap; gap: 2em 3em; align-items: flex-start; }
pre { background: #f6f7f9; padding: 1em; overflow: auto; font-size: 12px; line-height: 1.35; }
</style>
CSS
		for entry in "${VEGA_PACKAGES[@]}"; do
			read -r name version _ <<<"$entry"
			printf '<script>\n'
			# a library's text cannot end the script element early
			sed 's#</script#<\\/script#g' "$VEGA_DIR/$name-$version.min.js"
			printf '\n</script>\n'
		done
		printf '</head>\n<body>\n<h1>%s</h1>\n' "$(html_escape <<<"$title")"
		printf '<p>Written by crm on %s.</p>\n<h2>Charts</h2>\n<div class="charts">\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
		while IFS=$'\t' read -r id chart_title _; do
			printf '<div class="chart" title="%s"><div id="chart-%s"></div></div>\n' \
				"$(html_escape <<<"$chart_title")" "$id"
		done <"$charts"
		printf '</div>\n<h2>Tables</h2>\n<pre>\n'
		html_escape <"$tables"
		printf '</pre>\n<script>\nconst charts = [\n'
		# JSON in a script element: every < escaped, so that data cannot end it
		while IFS=$'\t' read -r id chart_title spec; do
			printf '{"id": "%s", "spec": %s},\n' "$id" "$(sed 's/</\\u003c/g' <<<"$spec")"
		done <"$charts"
		cat <<'SCRIPT'
];
const errors = [];
window.addEventListener('error', e => errors.push(String(e.message)));
// what Vega and Vega-Lite report to the console counts as an error too
for (const level of ['error', 'warn']) {
	const write = console[level].bind(console);
	console[level] = (...args) => { errors.push(level + ': ' + args.join(' ')); write(...args); };
}
Promise.all(charts.map(c =>
	vegaEmbed('#chart-' + c.id, c.spec, { actions: false, renderer: 'svg' })
		.then(r => ({
			id: c.id, rendered: true,
			marks: document.querySelectorAll('#chart-' + c.id + ' g.role-mark > *').length,
			data: r.view.data('source_0')
		}))
		.catch(e => ({ id: c.id, rendered: false, error: String(e) }))))
	.then(results => {
		const out = document.createElement('script');
		out.type = 'application/json';
		out.id = 'crm-rendered';
		out.textContent = JSON.stringify({ charts: results, errors }).replace(/</g, '\\u003c');
		document.body.appendChild(out);
	});
</script>
</body>
</html>
SCRIPT
	} >"$out"
}
