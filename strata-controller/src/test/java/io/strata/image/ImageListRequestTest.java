package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How GET /v2/images reads its query string (the server side is covered by ImageApiTest). */
class ImageListRequestTest {
    @Test
    void defaultsAreGlances() {
        ImageQuery query = ImageListRequest.parse(null).query();
        assertThat(query.limit()).isEqualTo(25);
        assertThat(query.memberStatus()).isEqualTo(MemberStatus.ACCEPTED);
        assertThat(query.osHidden()).isFalse();
        assertThat(query.visibility()).isNull();
        assertThat(query.sort()).containsExactly(new ImageQuery.Sort(ImageColumn.CREATED_AT, true));
    }

    @Test
    void operatorsPropertiesAndLinks() {
        ImageListRequest request = ImageListRequest.parse(
                "name=in:a,%22b,c%22&created_at=gt:2026-01-02T03:04:05Z&size_max=10&os_distro=cirros&tag=x&tag=y&limit=5000&marker=m1");
        ImageQuery query = request.query();
        assertThat(query.limit()).isEqualTo(1000);
        assertThat(query.marker()).isEqualTo("m1");
        assertThat(query.tags()).containsExactly("x", "y");
        assertThat(query.properties()).containsEntry("os_distro", "cirros");
        assertThat(query.conditions()).containsExactly(
                new ImageQuery.Condition(ImageColumn.NAME, ImageQuery.Operator.IN, List.of("a", "b,c")),
                new ImageQuery.Condition(ImageColumn.CREATED_AT, ImageQuery.Operator.GT, List.of(Instant.parse("2026-01-02T03:04:05Z"))),
                new ImageQuery.Condition(ImageColumn.SIZE, ImageQuery.Operator.LTE, List.of(10L)));
        // The links repeat every parameter but the marker.
        assertThat(request.linkQuery()).doesNotContain("marker").contains("tag=x&tag=y").contains("limit=5000");
    }

    @Test
    void anIsoTimeWithoutOperatorMeansEquals() {
        assertThat(ImageListRequest.parse("updated_at=2026-01-02T03:04:05Z").query().conditions()).containsExactly(
                new ImageQuery.Condition(ImageColumn.UPDATED_AT, ImageQuery.Operator.EQ, List.of(Instant.parse("2026-01-02T03:04:05Z"))));
    }

    @Test
    void sortSyntaxes() {
        assertThat(ImageListRequest.parse("sort=name:asc,size").query().sort()).containsExactly(
                new ImageQuery.Sort(ImageColumn.NAME, false), new ImageQuery.Sort(ImageColumn.SIZE, true));
        assertThat(ImageListRequest.parse("sort_key=name&sort_key=id&sort_dir=asc").query().sort()).containsExactly(
                new ImageQuery.Sort(ImageColumn.NAME, false), new ImageQuery.Sort(ImageColumn.ID, false));
    }

    @Test
    void malformedQueriesAre400() {
        for (String bad : List.of("%ZZ=1", "name=%", "limit=1.5", "visibility=all&visibility=everyone", "id=gt:5", "min_ram=lots",
                "sort=", "created_at=gt:yesterday", "name=in:\"open")) {
            assertThatThrownBy(() -> ImageListRequest.parse(bad)).as(bad).isInstanceOf(CloudException.class)
                    .satisfies(e -> assertThat(((CloudException) e).code()).isEqualTo(ErrorCode.BAD_REQUEST));
        }
    }
}
